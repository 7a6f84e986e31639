"""What pressing a button on an alert came to, as data (bot/services/alert_actions.py).

The chat surface turns each into a short private answer, or into no answer
at all where the edited message or a thread reply already says it
(bot/slack/render/action_replies.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.core.failures import Failure
from bot.core.listing import BackupFilter, ListingPage


@dataclass(frozen=True, slots=True)
class StaleButton:
    """No such alert in this channel (any more): nothing was done."""


@dataclass(frozen=True, slots=True)
class AlreadyResolved:
    resolved_at: datetime


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """Done: the alert's message is edited to say so, which is the answer."""


@dataclass(frozen=True, slots=True)
class AlreadyAcknowledged:
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Snoozed:
    # What the snooze covers, in words (outside text, unescaped).
    scope: str
    until: datetime


@dataclass(frozen=True, slots=True)
class AlreadySnoozed:
    scope: str
    until: datetime
    by: str


@dataclass(frozen=True, slots=True)
class BackupsShown:
    page: ListingPage
    backup_filter: BackupFilter


@dataclass(frozen=True, slots=True)
class ListingFailed:
    failure: Failure
    destination_id: str


@dataclass(frozen=True, slots=True)
class WriteRefused:
    """A write button pressed by someone not in BOT_ADMINS (or with BOT_ADMINS empty)."""

    admins: frozenset[str]


@dataclass(frozen=True, slots=True)
class WriteNotApplicable:
    """A write button that does not belong to its alert (forged, or from an older version)."""


@dataclass(frozen=True, slots=True)
class WriteUnderWay:
    by: str
    since: datetime


@dataclass(frozen=True, slots=True)
class WriteAlreadyDone:
    by: str
    at: datetime | None
    result: str | None


@dataclass(frozen=True, slots=True)
class WriteFinished:
    """Northflank was called; the result is posted in the alert's thread, which is the answer."""

    ok: bool


ActionOutcome = (
    StaleButton
    | AlreadyResolved
    | Acknowledged
    | AlreadyAcknowledged
    | Snoozed
    | AlreadySnoozed
    | BackupsShown
    | ListingFailed
    | WriteRefused
    | WriteNotApplicable
    | WriteUnderWay
    | WriteAlreadyDone
    | WriteFinished
)
