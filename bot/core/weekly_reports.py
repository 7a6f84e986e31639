"""When a watch's weekly report is due. Pure.

Every watch with `report=weekly` gets the report of the last 7 days on Monday
at 09:00 in its time zone: the zone of its quiet hours, else UTC. A quiet week
still gets one ("168 backups, all good"), so a channel that hears nothing at
all knows the bot itself has stopped. The report is held by quiet hours like
an alert (posted when the window ends) and skipped while the watch is muted.

`report_due` answers for one watch at one moment; the store's conditional
update of `report_sent_for` makes several replicas send each week's once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.core.watches import Watch, WatchState

WEEKLY_DAYS = 7
REPORT_WEEKDAY = 0  # Monday, as datetime.weekday() counts
REPORT_TIME = time(9, 0)


@dataclass(frozen=True, slots=True)
class WeeklyReportDue:
    watch: Watch
    # The Monday 09:00 this report is for: the end of its 7 days, and the claim's key.
    scheduled_for: datetime
    # Muted: claimed, so that it is not sent late, but not posted.
    skip: bool


def last_report_time(now: datetime, timezone: str = "UTC") -> datetime:
    """The latest Monday 09:00 in `timezone` at or before `now`, in UTC."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    monday = local.date() - timedelta(days=(local.weekday() - REPORT_WEEKDAY) % 7)
    for week in (0, 1):
        # 09:00 exists on every day in every zone (clocks move at night), but fold
        # and gaps are resolved by zoneinfo all the same.
        moment = datetime.combine(monday - timedelta(weeks=week), REPORT_TIME, tzinfo=zone)
        if moment.astimezone(UTC) <= now.astimezone(UTC):
            return moment.astimezone(UTC)
    raise AssertionError("a Monday 09:00 a week back is always before now")


def report_due(watch: Watch, now: datetime) -> WeeklyReportDue | None:
    """The weekly report `watch` should get now, if any."""
    if not watch.settings.weekly_report or watch.state is WatchState.DISABLED:
        return None
    scheduled = last_report_time(now, _timezone(watch))
    if not _still_to_send(watch, scheduled):
        return None
    quiet = watch.settings.quiet
    held_until = quiet.held_until(scheduled) if quiet else None
    if held_until is not None and now < held_until:
        return None
    return WeeklyReportDue(watch, scheduled, skip=watch.muted(now))


def next_report_time(watch: Watch, now: datetime) -> datetime | None:
    """When the next weekly report goes out (for `watching`), quiet hours counted."""
    if not watch.settings.weekly_report:
        return None
    timezone = _timezone(watch)
    scheduled = last_report_time(now, timezone)
    if not _still_to_send(watch, scheduled):
        # The Monday after: the latest one a week from now (09:00 local, whatever DST did).
        scheduled = last_report_time(now + timedelta(weeks=1), timezone)
    quiet = watch.settings.quiet
    held_until = quiet.held_until(scheduled) if quiet else None
    return held_until or scheduled


def _timezone(watch: Watch) -> str:
    quiet = watch.settings.quiet
    return quiet.timezone if quiet else "UTC"


def _still_to_send(watch: Watch, scheduled: datetime) -> bool:
    # The first report comes on the first Monday of the watch, not for the week before it.
    if scheduled < watch.started_at:
        return False
    return watch.report_sent_for is None or watch.report_sent_for < scheduled
