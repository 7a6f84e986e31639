"""When a schedule's runs are due: every interval, the wraps, and a brute-force cross-check."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.backups import Schedule, ScheduleInterval
from bot.core.schedules import last_due, last_due_of, missed_grace

HOURLY = ScheduleInterval.HOURLY
DAILY = ScheduleInterval.DAILY
WEEKLY = ScheduleInterval.WEEKLY


def jan(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A moment in January 2024, UTC. 1 January 2024 is a Monday (day 0)."""
    return datetime(2024, 1, day, hour, minute, second, tzinfo=UTC)


def hourly(*minutes: int) -> Schedule:
    return Schedule(HOURLY, minutes=minutes)


def daily(hours: tuple[int, ...], minutes: tuple[int, ...]) -> Schedule:
    return Schedule(DAILY, minutes=minutes, hours=hours)


def weekly(days: tuple[int, ...], hours: tuple[int, ...], minutes: tuple[int, ...]) -> Schedule:
    return Schedule(WEEKLY, minutes=minutes, hours=hours, days=days)


# ----- hourly ------------------------------------------------------------------------------


def test_hourly_later_in_the_hour_is_this_hours_run() -> None:
    assert last_due(hourly(15), jan(3, 10, 40)) == jan(3, 10, 15)


def test_hourly_before_the_minute_is_the_previous_hours_run() -> None:
    assert last_due(hourly(15), jan(3, 10, 5)) == jan(3, 9, 15)


def test_hourly_exactly_on_the_minute_is_that_run() -> None:
    assert last_due(hourly(15), jan(3, 10, 15)) == jan(3, 10, 15)


def test_hourly_a_microsecond_early_is_the_previous_run() -> None:
    assert last_due(hourly(15), jan(3, 10, 15) - timedelta(microseconds=1)) == jan(3, 9, 15)


def test_hourly_seconds_past_the_minute_still_count_that_run() -> None:
    moment = jan(3, 10, 15, 59).replace(microsecond=999_999)
    assert last_due(hourly(15), moment) == jan(3, 10, 15)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (jan(3, 10, 5), jan(3, 10, 0)),
        (jan(3, 10, 20), jan(3, 10, 15)),
        (jan(3, 10, 44), jan(3, 10, 15)),
        (jan(3, 10, 59), jan(3, 10, 45)),
    ],
)
def test_hourly_several_minutes_picks_the_latest_passed(
    moment: datetime, expected: datetime
) -> None:
    assert last_due(hourly(45, 0, 15), moment) == expected


def test_hourly_wraps_back_over_midnight() -> None:
    assert last_due(hourly(30), jan(2, 0, 10)) == jan(1, 23, 30)


def test_hourly_wraps_back_over_the_new_year() -> None:
    expected = datetime(2023, 12, 31, 23, 30, tzinfo=UTC)
    assert last_due(hourly(30), jan(1, 0, 10)) == expected


# ----- daily -------------------------------------------------------------------------------


def test_daily_after_the_time_is_todays_run() -> None:
    assert last_due(daily((2,), (30,)), jan(3, 3, 0)) == jan(3, 2, 30)


def test_daily_before_the_time_is_yesterdays_run() -> None:
    assert last_due(daily((2,), (30,)), jan(3, 2, 0)) == jan(2, 2, 30)


def test_daily_exactly_on_time_is_that_run() -> None:
    assert last_due(daily((2,), (30,)), jan(3, 2, 30)) == jan(3, 2, 30)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (jan(3, 5, 0), jan(2, 18, 30)),
        (jan(3, 6, 0), jan(3, 6, 0)),
        (jan(3, 6, 29), jan(3, 6, 0)),
        (jan(3, 17, 59), jan(3, 6, 30)),
        (jan(3, 18, 0), jan(3, 18, 0)),
        (jan(3, 23, 59), jan(3, 18, 30)),
    ],
)
def test_daily_several_hours_and_minutes(moment: datetime, expected: datetime) -> None:
    assert last_due(daily((18, 6), (30, 0)), moment) == expected


def test_daily_wraps_back_over_the_month() -> None:
    schedule = daily((23,), (0,))
    assert last_due(schedule, datetime(2024, 2, 1, 1, 0, tzinfo=UTC)) == jan(31, 23, 0)


# ----- weekly ------------------------------------------------------------------------------


def test_weekly_finds_the_last_weekday_run() -> None:
    # Friday (day 4) 18:30, as in Northflank's docs example; Monday 8 January asks.
    assert last_due(weekly((4,), (18,), (30,)), jan(8, 10, 0)) == jan(5, 18, 30)


def test_weekly_on_the_day_but_before_the_time_is_a_week_back() -> None:
    assert last_due(weekly((4,), (18,), (30,)), jan(12, 18, 29)) == jan(5, 18, 30)


def test_weekly_exactly_on_the_slot_is_that_run() -> None:
    assert last_due(weekly((4,), (18,), (30,)), jan(12, 18, 30)) == jan(12, 18, 30)


def test_weekly_wraps_from_monday_back_to_sunday() -> None:
    assert last_due(weekly((6,), (23,), (0,)), jan(8, 0, 5)) == jan(7, 23, 0)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (jan(10, 12, 0), jan(8, 1, 0)),  # Wednesday: Monday's run
        (jan(11, 0, 59), jan(8, 1, 0)),  # Thursday, before its run
        (jan(11, 1, 0), jan(11, 1, 0)),  # Thursday's run
        (jan(8, 0, 0), jan(4, 1, 0)),  # Monday midnight: last Thursday's
    ],
)
def test_weekly_several_days(moment: datetime, expected: datetime) -> None:
    assert last_due(weekly((3, 0), (1,), (0,)), moment) == expected


# ----- time zones and unusable schedules ---------------------------------------------------


def test_an_aware_moment_in_another_zone_is_read_as_utc() -> None:
    two_hours_east = timezone(timedelta(hours=2))
    moment = datetime(2024, 1, 3, 12, 10, tzinfo=two_hours_east)  # 10:10 UTC
    due = last_due(hourly(15), moment)
    assert due == jan(3, 9, 15)
    assert due is not None and due.utcoffset() == timedelta(0)


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        last_due(hourly(0), datetime(2024, 1, 3, 10, 0))


@pytest.mark.parametrize(
    "schedule",
    [
        Schedule(HOURLY, minutes=()),
        Schedule(DAILY, minutes=(0,), hours=()),
        Schedule(WEEKLY, minutes=(0,), hours=(1,), days=()),
        Schedule(HOURLY, minutes=(60, -1)),
    ],
)
def test_a_schedule_without_a_valid_time_has_no_due_run(schedule: Schedule) -> None:
    assert last_due(schedule, jan(3, 10, 0)) is None


def test_out_of_range_values_are_ignored_not_wrapped() -> None:
    assert last_due(hourly(75, 10), jan(3, 10, 50)) == jan(3, 10, 10)


# ----- several schedules -------------------------------------------------------------------


def test_last_due_of_picks_the_latest_and_names_its_schedule() -> None:
    every_hour = hourly(0)
    nightly = daily((9,), (30,))
    assert last_due_of([every_hour, nightly], jan(3, 9, 45)) == (jan(3, 9, 30), nightly)
    assert last_due_of([every_hour, nightly], jan(3, 10, 5)) == (jan(3, 10, 0), every_hour)


def test_last_due_of_prefers_the_first_listed_on_a_tie() -> None:
    first, second = hourly(0), daily((10,), (0,))
    assert last_due_of([first, second], jan(3, 10, 30)) == (jan(3, 10, 0), first)
    assert last_due_of([second, first], jan(3, 10, 30)) == (jan(3, 10, 0), second)


def test_last_due_of_nothing_usable_is_none() -> None:
    assert last_due_of([], jan(3, 10, 0)) is None
    assert last_due_of([Schedule(HOURLY, minutes=())], jan(3, 10, 0)) is None


@pytest.mark.parametrize(
    ("interval", "grace"),
    [(HOURLY, timedelta(minutes=20)), (DAILY, timedelta(hours=1)), (WEEKLY, timedelta(hours=1))],
)
def test_missed_grace_per_interval(interval: ScheduleInterval, grace: timedelta) -> None:
    schedule = Schedule(interval, minutes=(0,), hours=(0,), days=(0,))
    assert missed_grace(schedule) == grace


# ----- cross-check against a minute-by-minute walk -----------------------------------------


def _brute_force_last_due(schedule: Schedule, moment: datetime) -> datetime:
    """Step back one minute at a time until a minute matches the schedule."""
    candidate = moment.replace(second=0, microsecond=0)
    for _ in range(8 * 24 * 60):
        matches = candidate.minute in schedule.minutes and (
            schedule.interval is HOURLY
            or (
                candidate.hour in schedule.hours
                and (schedule.interval is DAILY or candidate.weekday() in schedule.days)
            )
        )
        if matches:
            return candidate
        candidate -= timedelta(minutes=1)
    raise AssertionError("no run within eight days")


@pytest.mark.parametrize(
    "schedule",
    [
        hourly(0),
        hourly(5, 35, 50),
        daily((0,), (0,)),
        daily((3, 12, 23), (15, 45)),
        weekly((0,), (0,), (0,)),
        weekly((6,), (23,), (59,)),
        weekly((1, 4, 5), (7, 19), (0, 30)),
    ],
)
def test_last_due_agrees_with_a_minute_by_minute_walk(schedule: Schedule) -> None:
    rng = random.Random(20240101)
    start = jan(1)
    for _ in range(25):
        moment = start + timedelta(seconds=rng.randrange(0, 30 * 24 * 3600))
        assert last_due(schedule, moment) == _brute_force_last_due(schedule, moment), moment
