"""What the store hands in and out, besides the domain types it persists (bot.core)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.core.alerts import Alert, Ledger
from bot.core.destination_state import DestinationState
from bot.core.handling import Snooze
from bot.core.watches import PollStatus, Watch


class OutboxKind(StrEnum):
    POST = "post"
    # A recovery, threaded under the message of the problem it resolves.
    THREAD_REPLY = "thread_reply"
    # Re-render messages already posted (resolved, acknowledged, snoozed).
    UPDATE = "update"
    # A note decided when queued and kept as data in `payload` (bot/core/messages.py:
    # a reminder, the result of a write button), rendered when it is posted.
    # Threaded under `parent_alert_id`'s message.
    NOTE = "note"


class OutboxState(StrEnum):
    PENDING = "pending"
    # The channel cannot be posted to; `save_watch` puts these back in line.
    PARKED = "parked"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class OutboxItem:
    id: int
    channel: str
    kind: OutboxKind
    alert_ids: tuple[int, ...]
    parent_alert_id: int | None
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    # The replica that claimed it last (once delivered: the one that posted it).
    claimed_by: str | None = None
    # When the channel's last message went out, as recorded (any replica, any
    # process before this one): pacing holds across restarts.
    channel_last_post: datetime | None = None
    # kind NOTE: the note, as `note_to_json` wrote it (or, queued by a version before
    # notes were data, the Slack message itself).
    payload: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A replica taking work: rows it claims are its own until `until`, unless renewed."""

    owner: str
    until: datetime


@dataclass(frozen=True, slots=True)
class ChannelAlerts:
    """What one poll decided one channel should hear about one destination."""

    watch: Watch
    # Each group becomes one message.
    digests: Sequence[Sequence[Alert]]
    # Each becomes a thread reply under the first alert it resolves.
    recoveries: Sequence[Alert]
    # False while the watch is muted: the ledger still records, nobody is notified.
    deliver: bool
    # Snoozed in this channel: recorded, never posted (the snooze is the answer).
    silenced: Sequence[Alert] = ()
    # In the watch's quiet hours: recorded now, posted as one digest at this moment.
    hold_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class RecordResult:
    alert_ids: list[int]
    outbox_ids: list[int]


@dataclass(frozen=True, slots=True)
class SaveResult:
    new: int
    changed: int
    # Stored status text, before this save, of the saved backups already known:
    # the poller's paging decision needs it, and it is read here anyway.
    known_before: dict[str, str] = field(default_factory=dict, compare=False)
    # Rows written (new, or changed in any column): none, and the store is as it was.
    written: int = field(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class ScanState:
    """How far the first full read of a destination got."""

    complete: bool = False
    # Where to go on from; None to start from the newest backup.
    cursor: str | None = None
    # This read met items it could not read (it is then started over, a few times).
    unreadable: bool = False
    # Full reads started over so far because they met unreadable items.
    attempts: int = 0


@dataclass(frozen=True)
class PollPlan:
    """What a poll of one destination reads up front: for these channels, this far back."""

    channels: frozenset[str]
    lookback: timedelta
    horizon: timedelta
    ledger_memory: timedelta
    # Stored rows of this many newest backups, to compare a page with (0: none).
    newest: int


@dataclass(frozen=True)
class PollPlans:
    """A cycle's plans: each destination's (`of`), and `common`, what all of them share
    (the lookback, the ledger's memory, the newest rows), from which a claim's reads are
    built before it is known which destination the claim will find."""

    common: PollPlan
    of: Callable[[str], PollPlan]


@dataclass(frozen=True)
class PollStart:
    """What one poll of a destination reads before it asks Northflank, in one transaction.

    The rules' view of the destination, the watching channels' ledgers and
    snoozes, how polling it went so far, and the newest stored rows that a
    steady poll's page is compared with: a page that changes nothing is then
    neither written nor read back.
    """

    state: DestinationState
    status: PollStatus | None
    scan: ScanState
    ledgers: dict[str, Ledger]
    snoozes: list[Snooze]
    # Stored rows of the newest backups (and of those in `state`), by id, as `backup_row` has them.
    newest: dict[str, dict[str, Any]]
