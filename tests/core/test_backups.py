"""Parsing the API's backup items, quirks included."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.core.backups import (
    BackupStatus,
    MalformedItemError,
    ScheduleInterval,
    parse_backup,
    parse_destination,
    parse_epoch_ms,
    parse_size,
    parse_timestamp,
)

# The example from Northflank's docs, verbatim.
DOCS_EXAMPLE: dict[str, Any] = {
    "id": "example-backup",
    "name": "Example Backup",
    "status": "completed",
    "project": {"id": "example-project", "name": "Example Project"},
    "addon": {"id": "example-addon", "name": "Example Addon"},
    "config": {
        "addonVersion": "4.4.8",
        "addonType": "mongodb",
        "source": {"type": "global"},
        "size": "1234",
    },
    "schedules": [{"interval": "weekly", "minute": [30], "hour": [18], "day": [4]}],
    "expiredBy": "1729232400000.0",
    "createdAt": "2021-01-20T11:19:53.175Z",
    "completedAt": "2021-01-20T11:19:54.494Z",
}


def test_docs_example_parses_completely() -> None:
    backup = parse_backup(DOCS_EXAMPLE)
    assert backup.id == "example-backup"
    assert backup.name == "Example Backup"
    assert backup.status is BackupStatus.COMPLETED
    assert backup.size_bytes == 1234
    assert backup.addon is not None and backup.addon.name == "Example Addon"
    assert backup.project is not None and backup.project.id == "example-project"
    assert (backup.addon_type, backup.addon_version) == ("mongodb", "4.4.8")
    assert backup.created_at == datetime(2021, 1, 20, 11, 19, 53, 175000, tzinfo=UTC)
    assert backup.duration_seconds == pytest.approx(1.319)
    assert backup.expires_at == datetime(2024, 10, 18, 6, 20, tzinfo=UTC)
    (schedule,) = backup.schedules
    assert schedule.interval is ScheduleInterval.WEEKLY
    assert (schedule.minutes, schedule.hours, schedule.days) == ((30,), (18,), (4,))


@pytest.mark.parametrize("completed", [None, "", "not a date"])
def test_unfinished_backup_has_no_completion(completed: str | None) -> None:
    item = {**DOCS_EXAMPLE, "status": "in-progress", "completedAt": completed}
    backup = parse_backup(item)
    assert backup.completed_at is None
    assert backup.duration_seconds is None


def test_missing_completed_at_and_optional_objects() -> None:
    item = {k: v for k, v in DOCS_EXAMPLE.items() if k not in {"completedAt", "project", "addon"}}
    backup = parse_backup({**item, "config": {"size": "10"}})
    assert backup.completed_at is None
    assert backup.project is None and backup.addon is None
    assert backup.addon_type is None
    assert backup.size_bytes == 10


def test_unknown_status_is_kept_as_it_is() -> None:
    backup = parse_backup({**DOCS_EXAMPLE, "status": "verifying"})
    assert backup.status is BackupStatus.UNKNOWN
    assert backup.status_text == "verifying"
    assert not backup.status.is_final


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1729232400000, datetime(2024, 10, 18, 6, 20, tzinfo=UTC)),
        (1729232400000.0, datetime(2024, 10, 18, 6, 20, tzinfo=UTC)),
        ("1729232400000.0", datetime(2024, 10, 18, 6, 20, tzinfo=UTC)),
        ("1729232400000", datetime(2024, 10, 18, 6, 20, tzinfo=UTC)),
        (None, None),
        ("", None),
        ("soon", None),
        (True, None),
        (float("nan"), None),
        (1e300, None),
        (-5, None),
    ],
)
def test_expired_by_accepts_numbers_and_strings(raw: Any, expected: datetime | None) -> None:
    assert parse_epoch_ms(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234", 1234),
        (1234, 1234),
        ("0", 0),
        ("", None),
        ("abc", None),
        ([1], None),
        (-1, None),
        (" 12 ", 12),
        ("+7", 7),
        ("12.9", 12),
        ("-3", None),
        ("١٢٣", 123),  # digits of another script, as float() reads them
        ("1e3", 1000),
    ],
)
def test_size(raw: Any, expected: int | None) -> None:
    assert parse_size(raw) == expected


def test_naive_timestamp_is_taken_as_utc() -> None:
    assert parse_timestamp("2024-01-01T00:00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_timestamp("2024-01-01T02:00:00+02:00") == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "item",
    [
        "not an object",
        {**DOCS_EXAMPLE, "id": None},
        {**DOCS_EXAMPLE, "status": 3},
        {**DOCS_EXAMPLE, "createdAt": "yesterday"},
        {k: v for k, v in DOCS_EXAMPLE.items() if k != "createdAt"},
    ],
)
def test_unreadable_items_raise(item: Any) -> None:
    with pytest.raises(MalformedItemError):
        parse_backup(item)


def test_wrong_types_in_optional_fields_are_tolerated() -> None:
    item = {
        **DOCS_EXAMPLE,
        "config": {"size": ["x"], "addonType": 5},
        "project": "p",
        "schedules": [
            {"interval": "hourly", "minute": [0, 30, 99, "x"]},
            {"interval": "daily", "minute": [0]},  # daily without hours: dropped
            {"interval": "fortnightly", "minute": [0]},
            "junk",
        ],
    }
    backup = parse_backup(item)
    assert backup.size_bytes is None and backup.addon_type is None and backup.project is None
    (schedule,) = backup.schedules
    assert schedule.interval is ScheduleInterval.HOURLY and schedule.minutes == (0, 30)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"interval": "hourly", "minute": [5]}, ("hourly", (5,), (), ())),
        ({"interval": "hourly", "minute": [60]}, None),
        ({"interval": "hourly", "minute": [True]}, None),
        ({"interval": "hourly", "minute": ["5"]}, None),
        ({"interval": "hourly", "minute": [30, 5, 30]}, ("hourly", (5, 30), (), ())),
        ({"interval": "daily", "minute": [0], "hour": [24]}, None),
        ({"interval": "daily", "minute": [0], "hour": [23]}, ("daily", (0,), (23,), ())),
        ({"interval": "weekly", "minute": [0], "hour": [1], "day": [7]}, None),
        (
            {"interval": "weekly", "minute": [0], "hour": [1], "day": [6]},
            ("weekly", (0,), (1,), (6,)),
        ),
        ({"interval": "Daily", "minute": [0], "hour": [1]}, None),
        ({"interval": None, "minute": [0]}, None),
    ],
)
def test_schedule_values_out_of_range_or_of_the_wrong_type_are_dropped(
    raw: dict[str, Any],
    expected: tuple[str, tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None,
) -> None:
    backup = parse_backup({**DOCS_EXAMPLE, "schedules": [raw]})
    parsed = [(s.interval.value, s.minutes, s.hours, s.days) for s in backup.schedules]
    assert parsed == ([] if expected is None else [expected])


def test_items_naming_the_same_addon_or_schedule_parse_alike_and_different_ones_apart() -> None:
    # Refs and schedules are shared between items (they are immutable): sharing
    # must never hand one item another's name or schedule.
    def item(backup_id: str, addon_name: str, hour: int) -> dict[str, Any]:
        return {
            **DOCS_EXAMPLE,
            "id": backup_id,
            "addon": {"id": "addon-1", "name": addon_name},
            "schedules": [{"interval": "daily", "minute": [0], "hour": [hour]}],
        }

    first, same, renamed = (
        parse_backup(item("b1", "db", 3)),
        parse_backup(item("b2", "db", 3)),
        parse_backup(item("b3", "db renamed", 4)),
    )
    assert first.addon == same.addon and first.schedules == same.schedules
    assert renamed.addon is not None and renamed.addon.name == "db renamed"
    assert [s.hours for s in renamed.schedules] == [(4,)]


def test_destination() -> None:
    destination = parse_destination({"id": "d1", "name": "Primary", "type": "s3"})
    assert (destination.id, destination.name, destination.type) == ("d1", "Primary", "s3")
    assert parse_destination({"id": "d2"}).name == "d2"
    with pytest.raises(MalformedItemError):
        parse_destination({"name": "no id"})
