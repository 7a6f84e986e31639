"""What the bot says in a channel, as data: alerts, recoveries, reminders, results. Pure.

The services decide what to say and hand these to a chat surface
(bot/services/chat.py), which renders them in its own markup: today Slack's
Block Kit (bot/slack/render/). Nothing here knows how a message looks.

Notes (a reminder, the result of a write button) wait in the outbox between
being decided and being posted, so they round-trip through JSON
(`note_to_json`, `note_from_json`) and are rendered only when posted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.alerts import Alert, alert_from_json, alert_to_json
from bot.core.audit import WRITE_ACTIONS, AuditAction
from bot.core.backups import Destination
from bot.core.failures import Failure
from bot.core.reports import HealthReport
from bot.core.watches import WatchSettings


@dataclass(frozen=True, slots=True)
class AlertContext:
    """Where an alert belongs: its destination, and the watch it was raised for."""

    destination_id: str
    destination_name: str
    settings: WatchSettings | None  # None when the watch has since been removed
    # Offer Retain / Start backup / Abort: false while BOT_ADMINS is empty.
    write_buttons: bool = False


@dataclass(frozen=True, slots=True)
class AlertView:
    """An alert as a message shows it now: resolved, acknowledged, snoozed."""

    alert: Alert
    resolved_at: datetime | None = None  # set once a recovery resolved it
    # The ledger id its buttons carry; None shows no buttons (the CLI's `check`).
    alert_id: int | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None or self.acknowledged_at is not None


@dataclass(frozen=True, slots=True)
class AlertDigest:
    """One channel message of alerts (a digest group), as first posted and as later edited."""

    views: tuple[AlertView, ...]
    context: AlertContext

    def __post_init__(self) -> None:
        if not self.views:
            raise ValueError("an alert message needs at least one alert")


@dataclass(frozen=True, slots=True)
class RecoveryNote:
    """A problem is over: threaded under the message of the first problem it resolves."""

    alert: Alert
    resolved: tuple[Alert, ...]
    context: AlertContext


@dataclass(frozen=True, slots=True)
class WatchAnnouncement:
    """Posted in a channel that starts watching, so everyone there knows why alerts appear."""

    destination: Destination
    settings: WatchSettings
    user_id: str


@dataclass(frozen=True, slots=True)
class ReminderNote:
    """Open alerts of one message that nobody has acknowledged, in that message's thread."""

    alerts: tuple[Alert, ...]
    open_for: timedelta
    remind_every: timedelta
    context: AlertContext

    def __post_init__(self) -> None:
        if not self.alerts:
            raise ValueError("a reminder needs at least one alert")


@dataclass(frozen=True, slots=True)
class WriteResultNote:
    """What Retain, Start backup or Abort did, in the alert's thread, for everyone to see."""

    action: AuditAction
    user_id: str
    alert: Alert
    # None when it worked.
    failure: Failure | None = None
    # The backup Northflank created (Start backup), as it named it: outside text.
    started: str | None = None

    def __post_init__(self) -> None:
        if self.action not in WRITE_ACTIONS:
            raise ValueError(f"{self.action.value} is not a write on Northflank")

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True, slots=True)
class PreparedMessage:
    """A note an earlier version queued already rendered, before notes were data.

    Kept so that an upgrade delivers what the previous version left in the
    outbox; the chat surface posts it as it is.
    """

    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReportMessage:
    """A health report (bot.core.reports), posted with its chart."""

    report: HealthReport
    # Who asked for it (`/backups report`, the Home tab); None for the weekly report.
    requested_by: str | None = None


@dataclass(frozen=True, slots=True)
class WeeklyReportNote:
    """A weekly report, as the outbox keeps it: which destination, which week.

    The figures are read from the store when it is posted (delivery turns it into
    a ReportMessage), for the 7 days up to `week_ending`, whenever it goes out.
    """

    destination_id: str
    destination_name: str
    week_ending: datetime


@dataclass(frozen=True, slots=True)
class DisconnectedNote:
    """A connection this channel used was removed: its watches stopped (`disconnect`)."""

    connection: str
    destinations: tuple[str, ...]  # the names of the watches that stopped here
    user_id: str


# Notes threaded under an alert's message.
Note = ReminderNote | WriteResultNote
ChannelMessage = (
    AlertDigest
    | RecoveryNote
    | WatchAnnouncement
    | ReminderNote
    | WriteResultNote
    | PreparedMessage
    | ReportMessage
    | DisconnectedNote
)


# ----- notes as JSON, for the outbox ------------------------------------------------------


def note_to_json(note: Note | WeeklyReportNote | DisconnectedNote) -> dict[str, Any]:
    if isinstance(note, DisconnectedNote):
        return {
            "note": "disconnected",
            "connection": note.connection,
            "destinations": list(note.destinations),
            "user_id": note.user_id,
        }
    if isinstance(note, WeeklyReportNote):
        return {
            "note": "weekly-report",
            "destination_id": note.destination_id,
            "destination_name": note.destination_name,
            "week_ending": note.week_ending.isoformat(),
        }
    if isinstance(note, ReminderNote):
        return {
            "note": "reminder",
            "alerts": [alert_to_json(alert) for alert in note.alerts],
            "open_for": note.open_for.total_seconds(),
            "remind_every": note.remind_every.total_seconds(),
            "destination_id": note.context.destination_id,
            "destination_name": note.context.destination_name,
        }
    return {
        "note": "write-result",
        "action": note.action.value,
        "user_id": note.user_id,
        "alert": alert_to_json(note.alert),
        "failure": note.failure.to_json() if note.failure is not None else None,
        "started": note.started,
    }


def note_from_json(
    data: dict[str, Any],
) -> Note | WeeklyReportNote | DisconnectedNote | PreparedMessage:
    kind = data.get("note")
    if kind == "disconnected":
        return DisconnectedNote(
            connection=data["connection"],
            destinations=tuple(data["destinations"]),
            user_id=data["user_id"],
        )
    if kind == "reminder":
        return ReminderNote(
            alerts=tuple(alert_from_json(alert) for alert in data["alerts"]),
            open_for=timedelta(seconds=data["open_for"]),
            remind_every=timedelta(seconds=data["remind_every"]),
            context=AlertContext(data["destination_id"], data["destination_name"], None),
        )
    if kind == "weekly-report":
        return WeeklyReportNote(
            destination_id=data["destination_id"],
            destination_name=data["destination_name"],
            week_ending=datetime.fromisoformat(data["week_ending"]),
        )
    if kind == "write-result":
        failure = data.get("failure")
        return WriteResultNote(
            action=AuditAction(data["action"]),
            user_id=data["user_id"],
            alert=alert_from_json(data["alert"]),
            failure=Failure.from_json(failure) if failure else None,
            started=data.get("started"),
        )
    return PreparedMessage(data)
