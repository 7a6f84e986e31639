"""Alerts and the ledger of alerts already raised. Pure.

An `Alert` is what the rules decide a channel should hear about. The ledger
remembers every alert per channel × subject × event, so that the same event
is never raised twice, even across restarts. `subject` names what the alert
is about:

- a backup id, for failed, aborted, stuck, expiring, anomaly and recovered;
- `missed:{addon id}:{expected run, ISO}` for a missed scheduled run;
- `outage:{first failure, ISO}` for a Northflank problem and its recovery.

An alert's details are stored with it as JSON (`alert_to_json`), so a
message can be rendered again later (to mark it resolved) without asking
Northflank anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.anomalies import Anomaly
from bot.core.backups import Backup, BackupStatus, Ref, Schedule, ScheduleInterval
from bot.core.watches import Event


@dataclass(frozen=True, slots=True)
class Alert:
    event: Event
    subject: str
    destination_id: str
    # When the event happened, as well as we know: the backup's failure or
    # completion, the missed run's due time, the first failed poll. Recovery
    # compares against it, and digests sort by it.
    occurred_at: datetime
    backup: Backup | None = None
    addon: Ref | None = None
    project: Ref | None = None
    # missed: the run that did not happen, and the schedule that wanted it.
    expected_at: datetime | None = None
    schedule: Schedule | None = None
    # northflank-problem: what is wrong, in plain words (not yet escaped).
    problem: str | None = None
    # recovered and northflank-recovered: ledger ids of the alerts this resolves.
    resolves: tuple[int, ...] = ()
    # recovered: problems raised in the same evaluation, not in the ledger yet, as
    # (event, subject); the store resolves them once it has recorded them.
    resolves_raised: tuple[tuple[Event, str], ...] = ()
    # anomaly: what is unusual about the backup, with the figures.
    anomaly: Anomaly | None = None

    @property
    def addon_id(self) -> str | None:
        return self.addon.id if self.addon is not None else None

    @property
    def is_recovery(self) -> bool:
        """A recovery resolves problems and is threaded under them; it is no news of its own."""
        return self.event in (Event.RECOVERED, Event.NORTHFLANK_RECOVERED)

    @property
    def began_at(self) -> datetime:
        """Where the problem sits on Northflank's own timeline, whenever the bot noticed it:
        the backup's createdAt, or the missed run's due time. A completed backup of the
        addon created at or after it is a recovery."""
        if self.expected_at is not None:
            return self.expected_at
        if self.backup is not None and self.event is not Event.RECOVERED:
            return self.backup.created_at
        return self.occurred_at


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """An alert already raised in one channel, as the rules need to know it."""

    id: int
    event: Event
    subject: str
    addon_id: str | None
    occurred_at: datetime
    resolved: bool = False
    # Alert.began_at as it was recorded; None for entries older than the column.
    began_at: datetime | None = None

    @property
    def timeline_at(self) -> datetime:
        return self.began_at or self.occurred_at


@dataclass(frozen=True, slots=True)
class Ledger:
    """What one channel has already heard about one destination.

    `raised` holds (event, subject) for every alert in the look-back window;
    `open_problems` every unresolved failed/aborted/stuck/missed alert and
    Northflank problem, however old, since a recovery may come much later.
    """

    raised: frozenset[tuple[Event, str]] = frozenset()
    open_problems: tuple[LedgerEntry, ...] = ()

    def has(self, event: Event, subject: str) -> bool:
        return (event, subject) in self.raised


EMPTY_LEDGER = Ledger()


def missed_subject(addon_id: str, expected_at: datetime) -> str:
    return f"missed:{addon_id}:{expected_at.isoformat()}"


def outage_subject(failing_since: datetime) -> str:
    return f"outage:{failing_since.isoformat()}"


# ----- JSON, for the ledger's details column ---------------------------------------------


def alert_to_json(alert: Alert) -> dict[str, Any]:
    return {
        "event": alert.event.value,
        "subject": alert.subject,
        "destination_id": alert.destination_id,
        "occurred_at": alert.occurred_at.isoformat(),
        "backup": _backup_to_json(alert.backup) if alert.backup else None,
        "addon": _ref_to_json(alert.addon),
        "project": _ref_to_json(alert.project),
        "expected_at": alert.expected_at.isoformat() if alert.expected_at else None,
        "schedule": _schedule_to_json(alert.schedule) if alert.schedule else None,
        "problem": alert.problem,
        "resolves": list(alert.resolves),
        "anomaly": alert.anomaly.to_json() if alert.anomaly else None,
    }


def alert_from_json(data: dict[str, Any]) -> Alert:
    return Alert(
        event=Event(data["event"]),
        subject=data["subject"],
        destination_id=data["destination_id"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        backup=_backup_from_json(data["backup"]) if data.get("backup") else None,
        addon=_ref_from_json(data.get("addon")),
        project=_ref_from_json(data.get("project")),
        expected_at=_time(data.get("expected_at")),
        schedule=_schedule_from_json(data["schedule"]) if data.get("schedule") else None,
        problem=data.get("problem"),
        resolves=tuple(data.get("resolves", ())),
        anomaly=Anomaly.from_json(data["anomaly"]) if data.get("anomaly") else None,
    )


def _backup_to_json(backup: Backup) -> dict[str, Any]:
    return {
        "id": backup.id,
        "name": backup.name,
        "status": backup.status_text,
        "created_at": backup.created_at.isoformat(),
        "completed_at": backup.completed_at.isoformat() if backup.completed_at else None,
        "expires_at": backup.expires_at.isoformat() if backup.expires_at else None,
        "size_bytes": backup.size_bytes,
        "project": _ref_to_json(backup.project),
        "addon": _ref_to_json(backup.addon),
        "addon_type": backup.addon_type,
        "addon_version": backup.addon_version,
        "schedules": [_schedule_to_json(s) for s in backup.schedules],
    }


def _backup_from_json(data: dict[str, Any]) -> Backup:
    created_at = _time(data["created_at"])
    assert created_at is not None
    return Backup(
        id=data["id"],
        name=data["name"],
        status=BackupStatus.parse(data["status"]),
        status_text=data["status"],
        created_at=created_at,
        completed_at=_time(data.get("completed_at")),
        expires_at=_time(data.get("expires_at")),
        size_bytes=data.get("size_bytes"),
        project=_ref_from_json(data.get("project")),
        addon=_ref_from_json(data.get("addon")),
        addon_type=data.get("addon_type"),
        addon_version=data.get("addon_version"),
        schedules=tuple(_schedule_from_json(s) for s in data.get("schedules", ())),
    )


def _ref_to_json(ref: Ref | None) -> dict[str, str] | None:
    return {"id": ref.id, "name": ref.name} if ref is not None else None


def _ref_from_json(data: dict[str, str] | None) -> Ref | None:
    return Ref(id=data["id"], name=data["name"]) if data else None


def _schedule_to_json(schedule: Schedule) -> dict[str, Any]:
    return {
        "interval": schedule.interval.value,
        "minute": list(schedule.minutes),
        "hour": list(schedule.hours),
        "day": list(schedule.days),
    }


def _schedule_from_json(data: dict[str, Any]) -> Schedule:
    return Schedule(
        interval=ScheduleInterval(data["interval"]),
        minutes=tuple(data.get("minute", ())),
        hours=tuple(data.get("hour", ())),
        days=tuple(data.get("day", ())),
    )


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
