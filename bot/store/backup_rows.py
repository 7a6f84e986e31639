"""Backups as the known_backups table holds them, and back: one place for the conversions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from bot.core.backups import Backup, BackupStatus, Ref, Schedule, ScheduleInterval
from bot.store.tables import KnownBackupRow

# What a save compares: every column a listing sets (not when the bot first saw it).
COMPARED = tuple(
    column.name
    for column in KnownBackupRow.__table__.c
    if column.name not in {"destination_id", "first_seen_at", "status_since"}
)


def backup_row(destination_id: str, backup: Backup, now: datetime) -> dict[str, Any]:
    return {
        "destination_id": destination_id,
        "backup_id": backup.id,
        "name": backup.name,
        "status": backup.status_text,
        "status_since": first_status_since(backup),
        "first_seen_at": now,
        "created_at": backup.created_at,
        "completed_at": backup.completed_at,
        "expires_at": backup.expires_at,
        "size_bytes": backup.size_bytes,
        "addon_id": backup.addon.id if backup.addon else None,
        "addon_name": backup.addon.name if backup.addon else None,
        "addon_type": backup.addon_type,
        "addon_version": backup.addon_version,
        "project_id": backup.project.id if backup.project else None,
        "project_name": backup.project.name if backup.project else None,
        "schedules": schedules_to_json(backup.schedules),
    }


def first_status_since(backup: Backup) -> datetime:
    """A backup first seen already finished changed status long ago: history, not news."""
    if backup.status.is_final:
        return backup.completed_at or backup.created_at
    return backup.created_at


def backup_from_row(row: KnownBackupRow) -> Backup:
    return backup_from_mapping({name: getattr(row, name) for name in BACKUP_FIELDS})


# The known_backups columns a Backup is made of.
BACKUP_FIELDS = (
    "backup_id",
    "name",
    "status",
    "created_at",
    "completed_at",
    "expires_at",
    "size_bytes",
    "project_id",
    "project_name",
    "addon_id",
    "addon_name",
    "addon_type",
    "addon_version",
    "schedules",
)


def backup_from_mapping(values: Mapping[Any, Any], prefix: str = "") -> Backup:
    """From a Core row's mapping (the poll's hot path: no ORM objects), its columns
    named with `prefix` when the row holds another table's too."""

    def v(name: str) -> Any:
        return values[prefix + name]

    return Backup(
        id=v("backup_id"),
        name=v("name"),
        status=BackupStatus.parse(v("status")),
        status_text=v("status"),
        created_at=v("created_at"),
        completed_at=v("completed_at"),
        expires_at=v("expires_at"),
        size_bytes=v("size_bytes"),
        project=ref(v("project_id"), v("project_name")),
        addon=ref(v("addon_id"), v("addon_name")),
        addon_type=v("addon_type"),
        addon_version=v("addon_version"),
        schedules=schedules_from_json(v("schedules")),
    )


def ref(ref_id: str | None, name: str | None) -> Ref | None:
    return Ref(ref_id, name or ref_id) if ref_id else None


# The API's own shape for a schedule, so the JSON reads like what Northflank sent.
def schedules_to_json(schedules: Iterable[Schedule]) -> list[dict[str, Any]]:
    return [
        {
            "interval": s.interval.value,
            "minute": list(s.minutes),
            "hour": list(s.hours),
            "day": list(s.days),
        }
        for s in schedules
    ]


def schedules_from_json(data: Any) -> tuple[Schedule, ...]:
    return tuple(
        Schedule(
            interval=ScheduleInterval(item["interval"]),
            minutes=tuple(item.get("minute", ())),
            hours=tuple(item.get("hour", ())),
            days=tuple(item.get("day", ())),
        )
        for item in data or ()
    )
