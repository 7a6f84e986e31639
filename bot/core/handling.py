"""What happens to an alert once it is raised: where it was posted, who acknowledged or
snoozed it, the writes pressed on it, whether it is due a reminder. Pure.

The store keeps these (bot/store/ledger.py, interactions.py, followups.py);
the services decide with them and the reminder rules (reminders.py) read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.alerts import Alert
from bot.core.watches import Event, Watch


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """A ledger entry with the alert as it was raised and where it was posted."""

    id: int
    channel: str
    destination_id: str
    watch_id: int | None
    alert: Alert
    message_ts: str | None
    resolved_at: datetime | None
    created_at: datetime
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    last_notified_at: datetime | None = None
    held_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Snooze:
    """One event on one addon ('' for the destination itself), quiet in a channel until `until`."""

    channel: str
    destination_id: str
    addon_id: str
    event: Event
    until: datetime
    created_by: str
    created_at: datetime

    def covers(self, alert: Alert, now: datetime) -> bool:
        return (
            now < self.until
            and alert.event is self.event
            and (alert.addon_id or "") == self.addon_id
            and alert.destination_id == self.destination_id
        )


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What pressing Acknowledge did: `new` is False when someone had already pressed it."""

    new: bool
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SnoozeResult:
    """`new` is False when an equal or longer snooze already held: nothing changed."""

    new: bool
    snooze: Snooze


class WriteState(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WriteClaim:
    """A write action on one alert. `ours` is False when someone else holds or did it."""

    ours: bool
    state: WriteState
    user_id: str
    started_at: datetime
    finished_at: datetime | None = None
    result: str | None = None


@dataclass(frozen=True, slots=True)
class ReminderCandidate:
    """An open problem alert already posted: the reminder rules decide whether it is due."""

    stored: StoredAlert
    watch: Watch
