"""The domain model: what a backup is, as the rest of the bot sees it.

Everything here is pure. `parse_backup` turns one item of the API's
`data[]` into a `Backup`, absorbing the documented quirks (expiredBy as a
number or a string, completedAt missing or empty, size as a string, status
values we do not know yet) so that no other module has to know about them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


class BackupStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    ABORTING = "aborting"
    ABORTED = "aborted"
    FAILED = "failed"
    NOT_SUPPORTED = "not-supported"
    # A value Northflank added after this code was written. The raw text is
    # kept on the backup (`Backup.status_text`) and shown as it is.
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, raw: str) -> BackupStatus:
        # A dictionary lookup: called for every backup of every page, where
        # `cls(raw)` and its ValueError would cost several times more.
        status = _STATUS_BY_TEXT.get(raw)
        return cls.UNKNOWN if status is None else status

    @property
    def is_final(self) -> bool:
        """A final backup will not change status again (unknown ones might)."""
        return self in _FINAL_STATUSES


# "unknown" is our placeholder, never a value the API sends.
_STATUS_BY_TEXT = {s.value: s for s in BackupStatus if s is not BackupStatus.UNKNOWN}

_FINAL_STATUSES = frozenset(
    {BackupStatus.COMPLETED, BackupStatus.ABORTED, BackupStatus.FAILED, BackupStatus.NOT_SUPPORTED}
)


class ScheduleInterval(StrEnum):
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When an addon is meant to be backed up. Day 0 is Monday, as in the API."""

    interval: ScheduleInterval
    minutes: tuple[int, ...]
    hours: tuple[int, ...] = ()
    days: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Ref:
    """A project or addon the backup belongs to."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Backup:
    id: str
    name: str
    status: BackupStatus
    status_text: str
    created_at: datetime
    completed_at: datetime | None = None
    expires_at: datetime | None = None
    size_bytes: int | None = None
    project: Ref | None = None
    addon: Ref | None = None
    addon_type: str | None = None
    addon_version: str | None = None
    schedules: tuple[Schedule, ...] = ()

    @property
    def duration_seconds(self) -> float | None:
        if self.completed_at is None:
            return None
        return max(0.0, (self.completed_at - self.created_at).total_seconds())


@dataclass(frozen=True, slots=True)
class Destination:
    id: str
    name: str
    type: str | None = None
    usage: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class BackupPage:
    """One page of a destination's backups, as the API returned it.

    `skipped` holds a short reason per item that could not be read, so a
    caller can say so instead of silently showing fewer rows.
    `unreadable_ids` names those of them whose id could still be read: they
    are listed, so whatever else is wrong with them, they were not deleted.
    """

    backups: tuple[Backup, ...]
    next_cursor: str | None
    skipped: tuple[str, ...] = field(default=())
    unreadable_ids: tuple[str, ...] = field(default=())

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None


class MalformedItemError(ValueError):
    """One item of an API response could not be read; the rest still can."""


def parse_backup(item: Any) -> Backup:
    if type(item) is not dict and not isinstance(item, Mapping):
        raise MalformedItemError(f"expected an object, got {type(item).__name__}")
    backup_id = _required_str(item, "id")
    raw_status = _required_str(item, "status")
    created_at = parse_timestamp(item.get("createdAt"))
    if created_at is None:
        raise MalformedItemError(f"backup {backup_id!r} has no readable createdAt")
    config = item.get("config")
    config = config if type(config) is dict or isinstance(config, Mapping) else {}
    name = item.get("name")
    return Backup(
        id=backup_id,
        name=name if isinstance(name, str) and name else backup_id,
        status=BackupStatus.parse(raw_status),
        status_text=raw_status,
        created_at=created_at,
        completed_at=parse_timestamp(item.get("completedAt")),
        expires_at=parse_epoch_ms(item.get("expiredBy")),
        size_bytes=parse_size(config.get("size")),
        project=_parse_ref(item.get("project")),
        addon=_parse_ref(item.get("addon")),
        addon_type=_optional_str(config.get("addonType")),
        addon_version=_optional_str(config.get("addonVersion")),
        schedules=_parse_schedules(item.get("schedules")),
    )


def parse_destination(item: Any) -> Destination:
    if not isinstance(item, Mapping):
        raise MalformedItemError(f"expected an object, got {type(item).__name__}")
    destination_id = _required_str(item, "id")
    name = item.get("name")
    return Destination(
        id=destination_id,
        name=name if isinstance(name, str) and name else destination_id,
        type=_optional_str(item.get("type")),
        usage=_optional_str(item.get("usage")),
        description=_optional_str(item.get("description")),
    )


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 string to an aware UTC datetime; absent, null, "" or junk to None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # The API writes "Z"; a bare timestamp is taken as UTC rather than local time.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_epoch_ms(value: Any) -> datetime | None:
    """expiredBy: the schema says a number, the docs' example is "1729232400000.0"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def parse_size(value: Any) -> int | None:
    """config.size is a string of bytes ("1234"); tolerate a number too."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0:
        return int(value)
    if isinstance(value, str):
        if value.isascii() and value.isdigit():
            return int(value)  # what the API sends: "1234"
        try:
            size = int(float(value)) if value.strip() else None
        except (ValueError, OverflowError):
            return None
        return size if size is not None and size >= 0 else None
    return None


def _parse_ref(value: Any) -> Ref | None:
    if type(value) is not dict and not isinstance(value, Mapping):
        return None
    ref_id, name = value.get("id"), value.get("name")
    if not isinstance(ref_id, str) or not ref_id:
        return None
    return _ref(ref_id, name if isinstance(name, str) and name else ref_id)


# The backups of a page name the same few projects, addons and schedules over and
# over: each is made once and shared (they are immutable), which spares most of
# their parsing cost in every poll. The caches are bounded; a miss just builds one.
@functools.lru_cache(maxsize=4096)
def _ref(ref_id: str, name: str) -> Ref:
    return Ref(id=ref_id, name=name)


def _parse_schedules(value: Any) -> tuple[Schedule, ...]:
    if not value or not isinstance(value, list):
        return ()
    schedules = []
    for item in value:
        schedule = _parse_schedule(item)
        if schedule is not None:
            schedules.append(schedule)
    return tuple(schedules)


def _parse_schedule(item: Any) -> Schedule | None:
    # An unreadable schedule is dropped rather than failing the whole backup:
    # the backup itself is still worth showing and watching.
    if type(item) is not dict and not isinstance(item, Mapping):
        return None
    raw_interval = item.get("interval")
    interval = _INTERVAL_BY_TEXT.get(raw_interval) if isinstance(raw_interval, str) else None
    if interval is None:
        return None
    minutes = _int_tuple(item.get("minute"), 0, 59)
    hours = _int_tuple(item.get("hour"), 0, 23)
    days = _int_tuple(item.get("day"), 0, 6)
    if not minutes:
        return None
    if interval is not ScheduleInterval.HOURLY and not hours:
        return None
    if interval is ScheduleInterval.WEEKLY and not days:
        return None
    return _schedule(interval, minutes, hours, days)


_INTERVAL_BY_TEXT = {interval.value: interval for interval in ScheduleInterval}


@functools.lru_cache(maxsize=1024)
def _schedule(
    interval: ScheduleInterval,
    minutes: tuple[int, ...],
    hours: tuple[int, ...],
    days: tuple[int, ...],
) -> Schedule:
    return Schedule(interval=interval, minutes=minutes, hours=hours, days=days)


def _int_tuple(value: Any, low: int, high: int) -> tuple[int, ...]:
    if not value or not isinstance(value, list):
        return ()
    if len(value) == 1:
        # Most schedules name one minute, one hour, one day.
        (only,) = value
        return (only,) if type(only) is int and low <= only <= high else ()
    return tuple(sorted({v for v in value if type(v) is int and low <= v <= high}))


def _required_str(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedItemError(f"missing or non-text {key!r}")
    return value


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
