"""A destination's health report from small hand-built histories. Pure: bot.core.reports
(and bot.core.report_summary for the sentences).

Every expected figure is worked out by hand in the comments, never by the code under test.
The period is the `days` before UNTIL, noon on Tuesday 10 March 2026 (UTC): a 7-day report
covers [3 March 12:00, 10 March 12:00): half-open, as the period is.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from bot.core.backups import Backup, BackupStatus, Ref, Schedule, ScheduleInterval
from bot.core.report_summary import PROBLEMS_LISTED, summary_lines
from bot.core.reports import (
    DayTotals,
    Expiry,
    HealthReport,
    ProblemKind,
    ReportSource,
    build_report,
)

UNTIL = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SINCE_7D = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
MIB = 1024**2
GIB = 1024**3
ORDERS = Ref("addon-orders", "orders-db")
USERS = Ref("addon-users", "users-db")
CACHE = Ref("addon-cache", "cache-db")
DAILY_AT_2 = Schedule(ScheduleInterval.DAILY, minutes=(0,), hours=(2,))
HOURLY_AT_0 = Schedule(ScheduleInterval.HOURLY, minutes=(0,))


def at(day: int, hour: int = 0, minute: int = 0, *, month: int = 3) -> datetime:
    """A moment in 2026, UTC (March unless told)."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def backup(
    backup_id: str,
    created: datetime,
    status: BackupStatus = BackupStatus.COMPLETED,
    *,
    addon: Ref | None = ORDERS,
    size: int | None = GIB,
    took: timedelta = timedelta(minutes=10),
    expires: datetime | None = None,
    schedules: tuple[Schedule, ...] = (),
    status_text: str | None = None,
) -> Backup:
    """A backup named "{addon}-{id}"; a final one completes `took` after it was created."""
    return Backup(
        id=backup_id,
        name=f"{addon.name if addon else 'none'}-{backup_id}",
        status=status,
        status_text=status_text or status.value,
        created_at=created,
        completed_at=created + took if status.is_final else None,
        expires_at=expires,
        size_bytes=size,
        addon=addon,
        schedules=schedules,
    )


def report(
    backups: list[Backup],
    days: int = 7,
    *,
    until: datetime = UNTIL,
    source: ReportSource = ReportSource.STORE,
    read_since: datetime | None = None,
) -> HealthReport:
    return build_report(
        backups,
        destination_id="dest-1",
        destination_name="Primary",
        until=until,
        days=days,
        source=source,
        read_since=read_since,
    )


def missed(got: HealthReport) -> list[datetime]:
    return [p.at for p in got.problems if p.kind is ProblemKind.MISSED]


# ----- counts and the success rate --------------------------------------------------------


def test_counts_by_status_most_first_and_the_success_rate() -> None:
    # In the 7 days: 4 completed, 2 in progress, 1 failed, 1 aborted, 1 scheduled = 9.
    # Finished = 4 + 1 + 1 = 6; the rate is 4 / 6 = 66.7% (in progress and scheduled left out).
    backups = [backup(f"c{i}", at(4 + i, 2)) for i in range(4)]
    backups += [
        backup("f", at(5, 3), BackupStatus.FAILED),
        backup("a", at(6, 3), BackupStatus.ABORTED),
        backup("p1", at(10, 11), BackupStatus.IN_PROGRESS),
        backup("p2", at(10, 11, 30), BackupStatus.IN_PROGRESS),
        backup("s", at(10, 11, 50), BackupStatus.SCHEDULED),
    ]
    got = report(backups)
    assert got.total == 9
    assert (got.completed, got.finished) == (4, 6)
    # Most first, ties by their text.
    assert got.by_status == (
        ("completed", 4),
        ("in-progress", 2),
        ("aborted", 1),
        ("failed", 1),
        ("scheduled", 1),
    )
    assert got.success_rate == pytest.approx(4 / 6)
    lines = summary_lines(got)
    assert "9 backups, 66.7% successful." in lines
    assert "By status: completed 4, in-progress 2, aborted 1, failed 1, scheduled 1." in lines


@pytest.mark.parametrize(
    ("completed", "failed", "aborted", "in_progress", "rate"),
    [
        (3, 1, 0, 0, 0.75),  # 3 / 4
        (1, 0, 1, 2, 0.5),  # 1 / 2: the two in progress are not counted
        (2, 0, 0, 3, 1.0),  # 2 / 2
        (0, 2, 1, 0, 0.0),  # 0 / 3
        (0, 0, 0, 2, None),  # nothing finished: no rate at all, not 0%
    ],
)
def test_the_success_rate_is_over_finished_backups_only(
    completed: int, failed: int, aborted: int, in_progress: int, rate: float | None
) -> None:
    statuses = (
        [BackupStatus.COMPLETED] * completed
        + [BackupStatus.FAILED] * failed
        + [BackupStatus.ABORTED] * aborted
        + [BackupStatus.IN_PROGRESS] * in_progress
    )
    got = report([backup(f"b{i}", at(9, i), s) for i, s in enumerate(statuses)])
    assert got.success_rate == (pytest.approx(rate) if rate is not None else None)


def test_an_unknown_status_is_counted_under_its_own_text_and_as_other_each_day() -> None:
    # Two "paused" and one "hibernating" (statuses this code does not know), one completed.
    backups = [
        backup("p1", at(8, 13), BackupStatus.UNKNOWN, status_text="paused"),
        backup("p2", at(9, 1), BackupStatus.UNKNOWN, status_text="paused"),
        backup("h", at(9, 2), BackupStatus.UNKNOWN, status_text="hibernating"),
        backup("c", at(9, 3)),
    ]
    got = report(backups, days=2)
    assert got.by_status == (("paused", 2), ("completed", 1), ("hibernating", 1))
    assert "unknown" not in dict(got.by_status)
    # Not finished: the rate is 1 / 1.
    assert got.finished == 1 and got.success_rate == 1.0
    # Days 8, 9, 10 March: "other" 1 on the 8th, 2 on the 9th (beside one completed).
    assert [(d.day.day, d.other, d.completed) for d in got.daily] == [
        (8, 1, 0),
        (9, 2, 1),
        (10, 0, 0),
    ]
    assert "By status: paused 2, completed 1, hibernating 1." in summary_lines(got)


def test_backups_outside_the_period_are_not_counted_anywhere() -> None:
    # 7 days: [3 March 12:00, 10 March 12:00), half-open. Not counted: a second before it
    # starts, one created at the very moment it ends (the next report's), a failure a week
    # before it. Counted: one at its first moment, one inside, one a second before the end.
    backups = [
        backup("early", SINCE_7D - timedelta(seconds=1)),
        backup("old-fail", at(24, 2, month=2), BackupStatus.FAILED),
        backup("end", UNTIL, BackupStatus.FAILED),
        backup("start", SINCE_7D, BackupStatus.ABORTED),
        backup("in", at(6, 2)),
        backup("last", UNTIL - timedelta(seconds=1), BackupStatus.IN_PROGRESS),
    ]
    got = report(backups)
    assert got.total == 3
    assert dict(got.by_status) == {"aborted": 1, "completed": 1, "in-progress": 1}
    assert [p.backup_name for p in got.problems] == ["orders-db-start"]
    assert sum(d.total for d in got.daily) == 3
    assert [(a.addon, a.backups, a.completed) for a in got.addons] == [("orders-db", 3, 1)]


# ----- failures, aborts and anomalies -----------------------------------------------------


def _baseline(addon: Ref = ORDERS) -> list[Backup]:
    """Six good backups before the period (25 Feb to 2 March at 02:00): 1 GiB, 10 min each."""
    return [backup(f"base{i}", at(25, 2, month=2) + i * DAY, addon=addon) for i in range(6)]


def test_failures_aborts_and_anomalies_are_listed_with_their_addon_and_backup() -> None:
    # orders-db: the six baseline backups, then in the period
    #   4 March 02:00, 100 MiB: under half the 1 GiB median of 6 -> small;
    #   7 March 02:00, took 2h: the 7 before all took 10m, 2h > 3 x 10m and 1h50m more -> slow;
    #   8 March 02:00, a normal 1 GiB in 10 min: no problem.
    # users-db: failed 5 March 02:00, aborted 6 March 02:00.
    backups = [
        *_baseline(),
        backup("small", at(4, 2), size=100 * MIB),
        backup("slow", at(7, 2), took=2 * HOUR),
        backup("fine", at(8, 2)),
        backup("broke", at(5, 2), BackupStatus.FAILED, addon=USERS),
        backup("stopped", at(6, 2), BackupStatus.ABORTED, addon=USERS),
    ]
    got = report(backups)
    assert [(p.kind, p.addon, p.backup_name, p.at) for p in got.problems] == [
        (ProblemKind.ANOMALY, "orders-db", "orders-db-small", at(4, 2)),
        (ProblemKind.FAILED, "users-db", "users-db-broke", at(5, 2)),
        (ProblemKind.ABORTED, "users-db", "users-db-stopped", at(6, 2)),
        (ProblemKind.ANOMALY, "orders-db", "orders-db-slow", at(7, 2)),
    ]
    assert (
        got.problems[0].detail == "100.0 MiB, against a median of 1.0 GiB over the last 6 backups."
    )
    # The slow one's baseline: the 6 before the period and the small one, 10 minutes each.
    assert got.problems[3].detail == "took 2h, against a median of 10m over the last 7 backups."
    assert (got.count(ProblemKind.ANOMALY), got.count(ProblemKind.FAILED)) == (2, 1)


def test_anomalies_are_judged_against_backups_from_before_the_period() -> None:
    # The same 100 MiB backup is an anomaly with the six earlier 1 GiB ones (BASELINE), and
    # not without them: alone in the period it has nothing to be compared with.
    small = backup("small", at(4, 2), size=100 * MIB)
    with_baseline = report([*_baseline(), small])
    alone = report([small])
    assert [p.backup_name for p in with_baseline.problems] == ["orders-db-small"]
    assert alone.problems == ()
    # The baseline is judged too, but is outside the period: not counted, not listed.
    assert with_baseline.total == 1


def test_a_baseline_is_per_addon() -> None:
    # users-db's 100 MiB backups are its normal size, whatever orders-db weighs.
    backups = [
        *_baseline(ORDERS),
        *[
            backup(f"u{i}", at(25, 3, month=2) + i * DAY, addon=USERS, size=100 * MIB)
            for i in range(6)
        ],
        backup("u-new", at(4, 3), addon=USERS, size=100 * MIB),
    ]
    assert report(backups).problems == ()


@pytest.mark.parametrize("earlier", [0, 3, 8])
def test_an_empty_backup_is_always_an_anomaly(earlier: int) -> None:
    # Size 0 is an anomaly with no history, with too little to compare with (3 < 5),
    # and with plenty (8).
    history = [backup(f"e{i}", at(3, 13) + i * HOUR) for i in range(earlier)]
    got = report([*history, backup("empty", at(9, 2), size=0)])
    assert [(p.kind, p.addon, p.backup_name, p.detail) for p in got.problems] == [
        (ProblemKind.ANOMALY, "orders-db", "orders-db-empty", "0 B: the backup is empty.")
    ]


# ----- missed runs ------------------------------------------------------------------------


def _daily(*moments: datetime) -> list[Backup]:
    return [backup(f"d{i}", m, schedules=(DAILY_AT_2,)) for i, m in enumerate(moments)]


def test_a_day_with_no_backup_is_one_missed_run_at_its_due_time() -> None:
    # Daily at 02:00. In 7 days (3 March 12:00 to 10 March 12:00) the runs due are 4 to
    # 10 March at 02:00; each has a backup a few minutes late except 6 March.
    days = [at(d, 2, 4) for d in (3, 4, 5, 7, 8, 9, 10)]
    got = report(_daily(*days))
    assert missed(got) == [at(6, 2)]
    (problem,) = got.problems
    assert (problem.addon, problem.backup_name) == ("orders-db", None)
    assert "• missed: orders-db, the run due 2026-03-06 02:00 UTC" in summary_lines(got)


@pytest.mark.parametrize(
    ("created", "is_missed"),
    [
        (at(6, 1, 50), False),  # 10 minutes early: counts for the 02:00 run
        (at(6, 1, 55), False),
        (at(6, 1, 49), True),  # 11 minutes early: too early to count for it
        (at(6, 2, 0), False),
        (at(6, 23, 0), False),  # 21 hours late, but before the next run: still that run's
    ],
)
def test_a_backup_up_to_ten_minutes_early_counts_for_the_run(
    created: datetime, is_missed: bool
) -> None:
    # Every other day has its backup at 02:03; 6 March's comes at `created`.
    days = [at(d, 2, 3) for d in (3, 4, 5, 7, 8, 9, 10)]
    got = report(_daily(*days, created))
    assert missed(got) == ([at(6, 2)] if is_missed else [])


def test_an_early_backup_does_not_also_answer_the_day_before() -> None:
    # 6 March has no backup at all; 7 March's run started 5 minutes early (01:55). That
    # backup is 7 March's run, so 6 March's is still missed: one missed run.
    days = [at(d, 2, 3) for d in (3, 4, 5, 8, 9, 10)]
    got = report(_daily(*days, at(7, 1, 55)))
    assert missed(got) == [at(6, 2)]


@pytest.mark.parametrize(
    ("until", "is_missed"),
    [
        (at(10, 2, 30), False),  # 30 minutes after the 02:00 run: within the 1h grace
        (at(10, 2, 59), False),
        (at(10, 3, 0), True),  # the grace has passed
        (at(10, 12, 0), True),
    ],
)
def test_a_run_whose_grace_has_not_passed_is_not_missed_yet(
    until: datetime, is_missed: bool
) -> None:
    # Daily at 02:00; backups 7, 8 and 9 March at 02:05, none on 10 March.
    got = report(_daily(at(7, 2, 5), at(8, 2, 5), at(9, 2, 5)), days=2, until=until)
    assert missed(got) == ([at(10, 2)] if is_missed else [])


def test_an_hourly_schedule_over_three_days_with_two_gaps() -> None:
    # Hourly at :00; 3 days: 7 March 12:00 to 10 March 12:00. A backup at :02 of every hour
    # from 7 March 11:02 to 10 March 11:02, except 8 March 03:02 (a gap of one run) and
    # 9 March 14:02 to 16:02 (a gap of three). 10 March 12:00 is due at the very end, within
    # its 20 minutes' grace: not missed yet. Missed: 8 March 03:00, 9 March 14:00, 15:00, 16:00.
    gaps = [at(8, 3), at(9, 14), at(9, 15), at(9, 16)]
    hours = [at(7, 11) + h * HOUR for h in range(3 * 24 + 1)]
    backups = [
        backup(f"h{i}", t + 2 * MINUTE, schedules=(HOURLY_AT_0,))
        for i, t in enumerate(hours)
        if t not in gaps
    ]
    got = report(backups, days=3)
    assert missed(got) == gaps
    assert "Problems: 0 failed, 4 missed." in summary_lines(got)


@pytest.mark.parametrize(
    ("minutes_made", "expected"),
    [
        ((0, 5), []),  # each run answered, on time
        ((2, 7), []),  # each 2 minutes late
        ((0,), [at(10, 9, 5), at(10, 10, 5), at(10, 11, 5)]),  # only the :00 runs
    ],
)
def test_runs_closer_together_than_the_early_tolerance_are_told_apart(
    minutes_made: tuple[int, ...], expected: list[datetime]
) -> None:
    # Hourly at :00 and :05, 5 minutes apart (less than twice the 10 minutes' tolerance):
    # a backup at :00 is the :00 run, not 5 minutes early for the :05 one. Backups from
    # 10 March 09:00 on; until 12:00 (11:05 is past its 20 minutes' grace, 12:00 is not).
    schedule = Schedule(ScheduleInterval.HOURLY, minutes=(0, 5))
    made = [at(10, h, m) for h in (9, 10, 11) for m in minutes_made]
    backups = [backup(f"m{i}", t, schedules=(schedule,)) for i, t in enumerate(made)]
    assert missed(report(backups, days=1)) == expected


def test_runs_before_the_addons_first_backup_are_not_missed() -> None:
    # Daily at 02:00; the first backup known is 8 March 02:01 (the schedule may be new):
    # 4 to 7 March are not counted. 10 March has none: missed.
    got = report(_daily(at(8, 2, 1), at(9, 2, 1)))
    assert missed(got) == [at(10, 2)]


# ----- the longest time without a good backup ---------------------------------------------


def test_the_longest_time_without_a_good_backup_per_addon() -> None:
    # orders-db: last good before the period 1 March 12:00; good 4 March 12:00; failed
    #   6 March; empty (anomalous) 7 March; nothing good since. Stretches: 3d (from 1 March,
    #   the good backup before the period) and 6d (4 March 12:00 to until: neither the failure
    #   nor the empty backup ends it) -> 6d.
    # users-db: last good before the period 28 Feb 06:00; good 5 March 12:00, then daily at
    #   12:00 up to 10 March 12:00 (until). Stretches: 5d 6h, then 1d each, then 0 -> 5d 6h.
    #   (Counted from the period's start instead, it would be 2d.)
    # cache-db: good 6 March 12:00, failed 9 March: 3d from the period's start (nothing
    #   before it), then 4d to until -> 4d.
    # The sentence lists them longest first (not by name).
    backups = [
        backup("o-old", at(28, 12, month=2)),
        backup("o-last", at(1, 12)),
        backup("o-good", at(4, 12)),
        backup("o-fail", at(6, 12), BackupStatus.FAILED),
        backup("o-empty", at(7, 12), size=0),
        backup("u-old", at(28, 6, month=2), addon=USERS),
        *[backup(f"u{d}", at(d, 12), addon=USERS) for d in range(5, 11)],
        backup("c-good", at(6, 12), addon=CACHE),
        backup("c-fail", at(9, 12), BackupStatus.FAILED, addon=CACHE),
    ]
    got = report(backups)
    assert {a.addon: a.longest_gap for a in got.addons} == {
        "cache-db": 4 * DAY,
        "orders-db": 6 * DAY,
        "users-db": 5 * DAY + 6 * HOUR,
    }
    assert (
        "Longest without a good backup: orders-db 6d, users-db 5d 6h, cache-db 4d."
        in summary_lines(got)
    )


def test_a_gap_that_ends_with_the_period_runs_to_until() -> None:
    # Good backups 4 and 5 March at 12:00, none before: the stretches are 1d (from the
    # period's start), 1d, and 5d (5 March 12:00 to until) -> 5d. Add a good one 8 March
    # 12:00: 1d, 1d, 3d, 2d -> 3d. Add one in progress on 10 March: not good, still 3d.
    early = [backup("g4", at(4, 12)), backup("g5", at(5, 12))]
    assert report(early).addons[0].longest_gap == 5 * DAY
    more = [*early, backup("g8", at(8, 12))]
    assert report(more).addons[0].longest_gap == 3 * DAY
    running = [*more, backup("g10", at(10, 11), BackupStatus.IN_PROGRESS)]
    assert report(running).addons[0].longest_gap == 3 * DAY


# ----- stored size, slowest addon, expiries -----------------------------------------------


def test_stored_size_at_the_start_and_the_end_of_the_period() -> None:
    # At 3 March 12:00 (start): a (1 GiB) and b (2 GiB) -> 3 GiB. c was still running (created
    #   11:00, done 13:00), z had expired (1 March).
    # At 10 March 12:00 (end): b and c (4 GiB) -> 6 GiB. a expired 5 March; e expires exactly
    #   at until, so no longer held; the failure and the one in progress hold nothing.
    # Change: +3 GiB.
    backups = [
        backup("z", at(20, 2, month=2), size=16 * GIB, expires=at(1, 0)),
        backup("a", at(20, 2, month=2), size=GIB, expires=at(5, 0)),
        backup("b", at(25, 2, month=2), size=2 * GIB),
        backup("c", at(3, 11), size=4 * GIB, took=2 * HOUR),
        backup("d", at(6, 2), BackupStatus.FAILED, size=8 * GIB),
        backup("e", at(9, 2), size=32 * GIB, expires=UNTIL),
        backup("f", at(10, 11), BackupStatus.IN_PROGRESS, size=64 * GIB),
    ]
    got = report(backups)
    assert (got.stored_bytes_start, got.stored_bytes_end) == (3 * GIB, 6 * GIB)
    assert "Stored: 6.0 GiB (+3.0 GiB over the period)." in summary_lines(got)


def test_stored_size_can_shrink() -> None:
    # One 1 GiB backup from before the period that expires inside it: 1 GiB, then 0; a
    # failure keeps the period from being empty.
    backups = [
        backup("a", at(20, 2, month=2), expires=at(5, 0)),
        backup("f", at(6, 2), BackupStatus.FAILED),
    ]
    got = report(backups)
    assert (got.stored_bytes_start, got.stored_bytes_end) == (GIB, 0)
    assert "Stored: 0 B (-1.0 GiB over the period)." in summary_lines(got)


def test_the_slowest_addon_is_the_one_with_the_longest_median() -> None:
    # orders-db: 10m, 10m, 70m -> median 10m (mean 30m).
    # users-db: 20m, 25m -> median 22m 30s (mean 22m 30s): the slowest by median.
    # cache-db: one 5h backup, but before the period; in it only a failure: no median.
    backups = [
        backup("o1", at(4, 2)),
        backup("o2", at(5, 2)),
        backup("o3", at(6, 2), took=70 * MINUTE),
        backup("u1", at(4, 3), addon=USERS, took=20 * MINUTE),
        backup("u2", at(5, 3), addon=USERS, took=25 * MINUTE),
        backup("c-old", at(1, 2), addon=CACHE, took=5 * HOUR),
        backup("c-fail", at(5, 2), BackupStatus.FAILED, addon=CACHE, took=6 * HOUR),
    ]
    got = report(backups)
    medians = {a.addon: a.median_duration_seconds for a in got.addons}
    assert medians == {"cache-db": None, "orders-db": 600.0, "users-db": 1350.0}
    assert got.slowest is not None and got.slowest.addon == "users-db"
    assert "Slowest: users-db, 22m 30s a backup (median)." in summary_lines(got)


def test_the_next_three_expiries_after_until_in_order() -> None:
    # Completed backups expiring: 9 March (already gone), 10 March 12:00 (exactly until: gone),
    # 10 March 18:00 (a backup from before the period, still held), 11, 12, 15, 20 March.
    # The next three: 10 March 18:00, 11 March, 12 March.
    backups = [
        backup("gone", at(2, 2), expires=at(9, 0)),
        backup("now", at(3, 13), expires=UNTIL),
        backup("old", at(10, 2, month=2), expires=at(10, 18)),
        backup("e20", at(6, 2), expires=at(20, 0)),
        backup("e12", at(5, 2), addon=USERS, expires=at(12, 0)),
        backup("e15", at(7, 2), expires=at(15, 0)),
        backup("e11", at(4, 2), expires=at(11, 0)),
    ]
    got = report(backups)
    assert got.next_expiries == (
        Expiry("orders-db", "orders-db-old", at(10, 18)),
        Expiry("orders-db", "orders-db-e11", at(11, 0)),
        Expiry("users-db", "users-db-e12", at(12, 0)),
    )
    assert (
        "Next expiries: orders-db-old (orders-db) 2026-03-10 18:00 UTC, "
        "orders-db-e11 (orders-db) 2026-03-11 00:00 UTC, "
        "users-db-e12 (users-db) 2026-03-12 00:00 UTC."
    ) in summary_lines(got)


def test_a_backup_made_after_until_is_not_among_the_next_expiries() -> None:
    # A report for a period that ended earlier (a weekly report sent late) may be given
    # backups made since: at until, the one created 10 March 13:00 did not exist yet.
    backups = [
        backup("held", at(8, 2), expires=at(20, 0)),
        backup("later", at(10, 13), expires=at(11, 0)),
    ]
    got = report(backups)
    assert [e.backup_name for e in got.next_expiries] == ["orders-db-held"]


# ----- the chart's figures ----------------------------------------------------------------


def test_one_day_entry_per_utc_day_with_its_stacks_and_bytes() -> None:
    # 3 days: 7 March 12:00 to 10 March 12:00 -> 7, 8, 9 and 10 March (partial first and last).
    backups = [
        backup("before", at(7, 11)),  # the 7th, but before the period: not counted
        backup("c7", at(7, 13), size=GIB),
        backup("f7", at(7, 23, 59), BackupStatus.FAILED, size=5 * GIB),
        backup("c8", at(8, 0), size=2 * GIB),
        backup("a8", at(8, 5), BackupStatus.ABORTED),
        backup("p8", at(8, 6), BackupStatus.IN_PROGRESS, size=7 * GIB),
        backup("c10", at(10, 1), size=0),
        backup("u10", at(10, 2), BackupStatus.UNKNOWN, status_text="paused"),
        backup("after", at(10, 12, 30)),  # after until: not counted
    ]
    got = report(backups, days=3)
    assert got.daily == (
        DayTotals(date(2026, 3, 7), completed=1, failed=1, completed_bytes=GIB),
        DayTotals(date(2026, 3, 8), completed=1, aborted=1, other=1, completed_bytes=2 * GIB),
        DayTotals(date(2026, 3, 9)),
        DayTotals(date(2026, 3, 10), completed=1, other=1, completed_bytes=0),
    )


@pytest.mark.parametrize(
    ("days", "until", "first", "entries"),
    [
        (1, UNTIL, date(2026, 3, 9), 2),  # 9 March 12:00 to 10 March 12:00: two part days
        (7, UNTIL, date(2026, 3, 3), 8),  # 3 to 10 March
        (90, UNTIL, date(2025, 12, 10), 91),  # 90 days before 10 March: 10 December
        # Ending at midnight: 9 March 00:00 to 10 March 00:00 is one whole day, with no
        # empty 10 March after it (nothing created at 00:00 on the 10th is in the period).
        (1, at(10, 0), date(2026, 3, 9), 1),
        (7, at(10, 0), date(2026, 3, 3), 7),
    ],
)
def test_one_entry_for_each_day_from_the_first_to_the_last_of_the_period(
    days: int, until: datetime, first: date, entries: int
) -> None:
    got = report([backup("x", until - HOUR)], days=days, until=until)
    assert [d.day for d in got.daily] == [first + timedelta(days=i) for i in range(entries)]
    # The backup an hour before the end is on the last day.
    assert got.daily[-1].completed == 1
    assert got.since == until - days * DAY


def test_the_days_are_utc_days_whatever_the_zone_until_is_given_in() -> None:
    # 10 March 02:00 UTC is 9 March 21:00 at UTC-5. One day back: 9 March 02:00 UTC. The UTC
    # days are the 9th and the 10th; a backup at 10 March 01:00 UTC belongs to the 10th.
    until = at(10, 2).astimezone(timezone(timedelta(hours=-5)))
    got = report([backup("x", at(10, 1)), backup("y", at(9, 3))], days=1, until=until)
    assert [(d.day, d.completed) for d in got.daily] == [
        (date(2026, 3, 9), 1),
        (date(2026, 3, 10), 1),
    ]


def test_the_chart_shows_the_five_biggest_addons_by_latest_size_with_durations() -> None:
    # addon-1 .. addon-6 weigh 1 .. 6 GiB. "huge" has only a backup in progress (99 GiB, no
    # duration). "shrunk" weighed 50 GiB on 5 March but 512 MiB on 8 March: its latest size
    # counts. The five biggest with durations: addon-6, 5, 4, 3, 2.
    backups = [
        backup(f"a{i}", at(6, 2), addon=Ref(f"id-{i}", f"addon-{i}"), size=i * GIB)
        for i in range(1, 7)
    ]
    shrunk = Ref("id-shrunk", "shrunk")
    # "undated" completed a 90 GiB backup with no completedAt: no duration to draw, so it
    # takes no place among the five.
    undated = backup("n", at(6, 2), addon=Ref("id-undated", "undated"), size=90 * GIB)
    backups += [
        dataclasses.replace(undated, completed_at=None),
        backup(
            "run", at(6, 2), BackupStatus.IN_PROGRESS, addon=Ref("id-huge", "huge"), size=99 * GIB
        ),
        backup("s1", at(5, 2), addon=shrunk, size=50 * GIB),
        backup("s2", at(8, 2), addon=shrunk, size=512 * MIB),
    ]
    got = report(backups)
    assert [a.addon for a in got.chart_addons] == [
        "addon-6",
        "addon-5",
        "addon-4",
        "addon-3",
        "addon-2",
    ]
    assert got.chart_addons[0].latest_size_bytes == 6 * GIB
    assert got.chart_addons[0].durations == ((at(6, 2), 600.0),)
    assert {a.addon: a.latest_size_bytes for a in got.addons}["shrunk"] == 512 * MIB


def test_with_few_addons_the_chart_shows_each_that_has_durations() -> None:
    # users-db has only a failure: no duration to draw.
    backups = [
        backup("o1", at(4, 2), size=GIB),
        backup("o2", at(5, 2), size=GIB, took=20 * MINUTE),
        backup("u", at(5, 2), BackupStatus.FAILED, addon=USERS, size=9 * GIB),
    ]
    got = report(backups)
    assert [a.addon for a in got.chart_addons] == ["orders-db"]
    assert got.chart_addons[0].durations == ((at(4, 2), 600.0), (at(5, 2), 1200.0))


# ----- how far back it reaches ------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "read_since", "reported", "reason"),
    [
        (ReportSource.STORE, None, None, None),
        (ReportSource.STORE, SINCE_7D - DAY, None, None),  # reaches further back than needed
        (ReportSource.API, SINCE_7D, None, None),  # exactly the period's start
        (
            ReportSource.STORE,
            at(5, 12),
            at(5, 12),
            "the bot has watched this destination since then.",
        ),
        (
            ReportSource.API,
            at(5, 12),
            at(5, 12),
            "Northflank was read within a listing's page budget.",
        ),
    ],
)
def test_how_far_back_the_backups_reach_is_said_only_when_short_of_the_period(
    source: ReportSource, read_since: datetime | None, reported: datetime | None, reason: str | None
) -> None:
    got = report([backup("x", at(8, 2))], source=source, read_since=read_since)
    assert got.read_since == reported
    lines = summary_lines(got)
    if reason is None:
        assert not any("reach back" in line for line in lines)
    else:
        assert lines[1] == f"The backups reach back only to 2026-03-05 12:00 UTC: {reason}"


def test_the_longest_gap_starts_where_the_backups_reach_back_to() -> None:
    # Read only from 6 March 12:00; cache-db has only a failure (9 March): 4 days without a
    # good backup (6 March 12:00 to until), not the whole 7 the bot could not see.
    backups = [backup("c-fail", at(9, 12), BackupStatus.FAILED, addon=CACHE)]
    got = report(backups, read_since=at(6, 12), source=ReportSource.API)
    assert [(a.addon, a.longest_gap) for a in got.addons] == [("cache-db", 4 * DAY)]


# ----- an empty period --------------------------------------------------------------------


@pytest.mark.parametrize(
    "backups",
    [
        [],
        # Before the period and after it, but none in it.
        [backup("old", at(20, 2, month=2), expires=at(20, 0)), backup("later", at(10, 13))],
    ],
)
def test_an_empty_period_is_said_in_a_sentence(backups: list[Backup]) -> None:
    got = report(backups)
    assert got.is_empty and got.total == 0
    assert got.success_rate is None and got.slowest is None
    assert got.problems == () and got.addons == () and got.chart_addons == ()
    assert len(got.daily) == 8 and all(d.total == 0 for d in got.daily)
    assert summary_lines(got) == [
        "Backup report for Primary: the last 7 days",
        "No backups were made in these 7 days.",
    ]


def test_an_empty_period_still_says_how_far_back_the_backups_reach() -> None:
    got = report([], read_since=at(8, 0), source=ReportSource.API)
    assert summary_lines(got) == [
        "Backup report for Primary: the last 7 days",
        "The backups reach back only to 2026-03-08 00:00 UTC: "
        "Northflank was read within a listing's page budget.",
        "No backups were made in these 7 days.",
    ]


# ----- the sentences ----------------------------------------------------------------------


def test_the_summary_names_each_problem_with_its_addon() -> None:
    # users-db fails 4 March 05:00; orders-db (daily at 02:00, baseline before the period)
    # has an empty backup 5 March, no backup 6 March (missed), an abort 8 March at 02:00 and
    # normal backups otherwise. 4 completed + 1 empty completed = 5 of 7 finished: 71.4%.
    backups = [
        *_baseline(),
        *_daily(at(4, 2), at(7, 2), at(9, 2), at(10, 2)),
        backup("empty", at(5, 2), size=0, schedules=(DAILY_AT_2,)),
        backup("abort", at(8, 2), BackupStatus.ABORTED, schedules=(DAILY_AT_2,)),
        backup("f", at(4, 5), BackupStatus.FAILED, addon=USERS),
    ]
    lines = summary_lines(report(backups))
    assert lines[1] == "7 backups, 71.4% successful."
    assert "Problems: 1 failed, 1 aborted, 1 anomaly, 1 missed." in lines
    bullets = [line for line in lines if line.startswith("•")]
    assert bullets == [
        "• failed: users-db, users-db-f (2026-03-04 05:00 UTC)",
        "• anomaly: orders-db, orders-db-empty (2026-03-05 02:00 UTC): 0 B: the backup is empty.",
        "• missed: orders-db, the run due 2026-03-06 02:00 UTC",
        "• aborted: orders-db, orders-db-abort (2026-03-08 02:00 UTC)",
    ]


@pytest.mark.parametrize(("failures", "more"), [(10, None), (11, 1), (13, 3)])
def test_past_ten_problems_the_rest_are_counted(failures: int, more: int | None) -> None:
    backups = [
        backup(f"f{i:02}", at(9, 12) - i * HOUR, BackupStatus.FAILED) for i in range(failures)
    ]
    lines = summary_lines(report(backups))
    # Oldest first: the ten listed are the oldest ten.
    listed = [line for line in lines if line.startswith("• failed")]
    assert len(listed) == PROBLEMS_LISTED
    assert listed[0].startswith(f"• failed: orders-db, orders-db-f{failures - 1:02} ")
    tail = [line for line in lines if line.startswith("• and")]
    assert tail == ([f"• and {more} more."] if more else [])
    assert f"{failures} backups, 0.0% successful." in lines


@pytest.mark.parametrize(
    ("second", "headline"),
    [
        (backup("b", at(9, 2)), "2 backups, 100.0% successful, all good."),
        # Empty, so an anomaly: every backup completed, but not all is good.
        (backup("b", at(9, 2), size=0), "2 backups, 100.0% successful."),
        # Failed: 1 of 2.
        (backup("b", at(9, 2), BackupStatus.FAILED), "2 backups, 50.0% successful."),
    ],
)
def test_all_good_only_when_every_backup_succeeded_and_nothing_is_wrong(
    second: Backup, headline: str
) -> None:
    lines = summary_lines(report([backup("a", at(8, 2)), second]))
    assert lines[1] == headline
