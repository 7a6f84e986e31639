"""When a Northflank backup schedule expects its runs. Pure.

Northflank schedules are in UTC and day 0 is Monday (as `datetime.weekday()`),
so there is no time zone or daylight saving to reason about: a run is due at
each listed minute of every hour (hourly), each listed hour:minute of every
day (daily), or each listed day, hour and minute of every week (weekly).

The missed-schedule rule asks one question: which run should already have
happened by now? `last_due` answers it by looking back just far enough to be
sure to meet one run (two hours, two days or eight days), never by stepping
minute by minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from bot.core.backups import Schedule, ScheduleInterval

# How long after a due run we wait before calling it missed. Northflank
# queues a scheduled backup behind the other work on the addon and the
# destination, and the bot only sees a new backup at its next poll, so a run
# that is a few minutes late is normal. An hourly run that has not shown up
# after 20 minutes has lost a third of its period; for daily and weekly runs
# an hour is still early enough to act on the same day.
HOURLY_MISSED_GRACE = timedelta(minutes=20)
DAILY_MISSED_GRACE = timedelta(hours=1)
WEEKLY_MISSED_GRACE = timedelta(hours=1)

# A backup created up to this long before a due time counts for that run:
# the clocks of Northflank and of the bot may differ a little, and a run may
# start slightly early.
EARLY_TOLERANCE = timedelta(minutes=10)

_GRACE = {
    ScheduleInterval.HOURLY: HOURLY_MISSED_GRACE,
    ScheduleInterval.DAILY: DAILY_MISSED_GRACE,
    ScheduleInterval.WEEKLY: WEEKLY_MISSED_GRACE,
}


def missed_grace(schedule: Schedule) -> timedelta:
    """How long after a due run of `schedule` it is called missed."""
    return _GRACE[schedule.interval]


def last_due(schedule: Schedule, at_or_before: datetime) -> datetime | None:
    """The latest run `schedule` expects at or before the given moment, in UTC.

    None when the schedule names no valid time (no minutes; no hours for a
    daily or weekly schedule; no days for a weekly one). The parser already
    drops such schedules; this guards schedules built any other way.
    """
    if at_or_before.tzinfo is None:
        raise ValueError("last_due needs an aware datetime, not a naive one")
    at = at_or_before.astimezone(UTC)
    minutes = _valid(schedule.minutes, 59)
    if not minutes:
        return None
    if schedule.interval is ScheduleInterval.HOURLY:
        # Every hour has a run at minutes[0], so the previous hour always has one.
        this_hour = at.replace(minute=0, second=0, microsecond=0)
        hour_starts = (this_hour, this_hour - timedelta(hours=1))
        return _latest_not_after(
            (start + timedelta(minutes=m) for start in hour_starts for m in minutes), at
        )
    hours = _valid(schedule.hours, 23)
    if not hours:
        return None
    if schedule.interval is ScheduleInterval.DAILY:
        weekdays = frozenset(range(7))
        days_back = 1  # yesterday always has a run
    else:
        weekdays = frozenset(_valid(schedule.days, 6))
        if not weekdays:
            return None
        days_back = 7  # the same weekday a week ago always has a run
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    # Walk back from today: the first day with a run at or before `at` holds the latest one.
    for back in range(days_back + 1):
        day = midnight - timedelta(days=back)
        if day.weekday() not in weekdays:
            continue
        latest = _latest_not_after(
            (day + timedelta(hours=h, minutes=m) for h in hours for m in minutes), at
        )
        if latest is not None:
            return latest
    return None


def last_due_of(
    schedules: Sequence[Schedule], at_or_before: datetime
) -> tuple[datetime, Schedule] | None:
    """The latest run any of `schedules` expects at or before the moment, with its schedule.

    On a tie the schedule listed first wins, so the answer does not depend on luck.
    """
    best: tuple[datetime, Schedule] | None = None
    for schedule in schedules:
        due = last_due(schedule, at_or_before)
        if due is not None and (best is None or due > best[0]):
            best = (due, schedule)
    return best


def _valid(values: Iterable[int], highest: int) -> tuple[int, ...]:
    return tuple(sorted({v for v in values if 0 <= v <= highest}))


def _latest_not_after(candidates: Iterable[datetime], at: datetime) -> datetime | None:
    return max((c for c in candidates if c <= at), default=None)
