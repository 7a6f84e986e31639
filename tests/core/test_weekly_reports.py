"""When a watch's weekly report is due: Monday 09:00 in its zone, held by quiet hours,
skipped while muted, once a week. Pure."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.quiet_hours import QuietHours
from bot.core.watches import Watch, WatchSettings, WatchState
from bot.core.weekly_reports import last_report_time, next_report_time, report_due

# Monday 2026-11-30 09:00 UTC; the watch began the week before.
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
STARTED = MONDAY_9 - timedelta(days=5)


def watch(**changes: object) -> Watch:
    base = Watch(
        id=1,
        channel="C1",
        destination_id="dest-1",
        destination_name="Primary",
        settings=WatchSettings(),
        started_at=STARTED,
        created_by="U1",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def settings(**changes: object) -> WatchSettings:
    return dataclasses.replace(WatchSettings(), **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (MONDAY_9, MONDAY_9),
        (MONDAY_9 - timedelta(seconds=1), MONDAY_9 - timedelta(weeks=1)),
        (MONDAY_9 + timedelta(days=6, hours=23), MONDAY_9),
        (MONDAY_9 + timedelta(weeks=1), MONDAY_9 + timedelta(weeks=1)),
    ],
)
def test_the_report_time_is_the_latest_monday_at_nine(now: datetime, expected: datetime) -> None:
    assert last_report_time(now) == expected


def test_monday_nine_is_local_time_through_daylight_saving() -> None:
    # Berlin: UTC+1 in winter (08:00 UTC), UTC+2 in summer (07:00 UTC).
    assert last_report_time(MONDAY_9, "Europe/Berlin") == MONDAY_9 - timedelta(hours=1)
    summer = datetime(2026, 7, 6, 12, 0, tzinfo=UTC)
    assert last_report_time(summer, "Europe/Berlin") == datetime(2026, 7, 6, 7, 0, tzinfo=UTC)
    # The week the clocks go forward (Sunday 2026-03-29): still 09:00 on Monday.
    after_switch = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    assert last_report_time(after_switch, "Europe/Berlin") == datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )


def test_due_on_monday_at_nine_and_once() -> None:
    # A minute early, the latest Monday 09:00 is the one before the watch began.
    assert report_due(watch(), MONDAY_9 - timedelta(minutes=1)) is None
    due = report_due(watch(), MONDAY_9 + timedelta(minutes=1))
    assert due is not None and due.scheduled_for == MONDAY_9 and not due.skip
    sent = watch(report_sent_for=MONDAY_9)
    assert report_due(sent, MONDAY_9 + timedelta(days=3)) is None
    again = report_due(sent, MONDAY_9 + timedelta(weeks=1))
    assert again is not None and again.scheduled_for == MONDAY_9 + timedelta(weeks=1)


def test_no_report_for_the_week_before_the_watch_began() -> None:
    # Begun on Wednesday: the Monday before is not its week; the next Monday is.
    late = watch(started_at=MONDAY_9 + timedelta(days=2))
    assert report_due(late, MONDAY_9 + timedelta(days=3)) is None
    assert next_report_time(late, MONDAY_9 + timedelta(days=3)) == MONDAY_9 + timedelta(weeks=1)
    due = report_due(late, MONDAY_9 + timedelta(weeks=1))
    assert due is not None and due.scheduled_for == MONDAY_9 + timedelta(weeks=1)


def test_report_off_and_disabled_watches_get_none() -> None:
    assert report_due(watch(settings=settings(weekly_report=False)), MONDAY_9) is None
    assert next_report_time(watch(settings=settings(weekly_report=False)), MONDAY_9) is None
    assert report_due(watch(state=WatchState.DISABLED), MONDAY_9) is None
    # A broken channel keeps it: it is queued and goes out once the channel is reachable.
    assert report_due(watch(state=WatchState.BROKEN), MONDAY_9) is not None


def test_muted_it_is_claimed_but_skipped() -> None:
    muted = watch(muted_until=MONDAY_9 + timedelta(hours=8))
    due = report_due(muted, MONDAY_9 + timedelta(minutes=1))
    assert due is not None and due.skip
    unmuted = report_due(watch(muted_until=MONDAY_9), MONDAY_9 + timedelta(minutes=1))
    assert unmuted is not None and not unmuted.skip


def test_quiet_hours_hold_it_until_they_end() -> None:
    # Quiet 22:00-10:00 in UTC: Monday 09:00 is inside, so it goes out at 10:00.
    quiet = QuietHours.from_text("22:00-10:00 UTC")
    held = watch(settings=settings(quiet=quiet))
    assert report_due(held, MONDAY_9 + timedelta(minutes=30)) is None
    ten = MONDAY_9 + timedelta(hours=1)
    assert next_report_time(held, MONDAY_9 + timedelta(minutes=30)) == ten
    due = report_due(held, ten)
    assert due is not None and due.scheduled_for == MONDAY_9


def test_next_report_time_after_this_weeks_went_out() -> None:
    sent = watch(report_sent_for=MONDAY_9)
    assert next_report_time(sent, MONDAY_9 + timedelta(hours=1)) == MONDAY_9 + timedelta(weeks=1)
    # Not yet sent (the followups run is a minute away): still this Monday.
    assert next_report_time(watch(), MONDAY_9 + timedelta(seconds=30)) == MONDAY_9
