"""A report's figures from hand-built histories, each expected figure worked out by hand.
Pure: bot.core.reports and bot.core.report_summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.backups import Backup, BackupStatus, Ref, Schedule, ScheduleInterval
from bot.core.report_summary import PROBLEMS_LISTED, summary_lines
from bot.core.reports import HealthReport, ProblemKind, ReportSource, build_report

UNTIL = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
GB = 1024**3
DAILY_AT_2 = Schedule(ScheduleInterval.DAILY, minutes=(0,), hours=(2,))
HOURLY = Schedule(ScheduleInterval.HOURLY, minutes=(0,))


def b(
    backup_id: str,
    created: datetime,
    status: str = "completed",
    *,
    addon: str = "orders-db",
    size: int | None = GB,
    took: timedelta = timedelta(minutes=10),
    expires: datetime | None = None,
    schedules: tuple[Schedule, ...] = (),
) -> Backup:
    parsed = BackupStatus.parse(status)
    return Backup(
        id=backup_id,
        name=f"{addon}-{backup_id}",
        status=parsed,
        status_text=status,
        created_at=created,
        completed_at=created + took if parsed.is_final else None,
        expires_at=expires,
        size_bytes=size,
        addon=Ref(f"id-{addon}", addon),
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


def test_counts_by_status_and_the_success_rate() -> None:
    # 7 days: 5 completed, 1 failed, 1 aborted, 1 in progress, 1 "paused" (unknown).
    backups = [b(f"c{i}", UNTIL - i * DAY) for i in range(1, 6)]
    backups += [
        b("f", UNTIL - 2 * DAY - timedelta(hours=1), "failed"),
        b("a", UNTIL - 3 * DAY - timedelta(hours=1), "aborted"),
        b("p", UNTIL - timedelta(hours=1), "in-progress"),
        b("u", UNTIL - timedelta(hours=2), "paused"),
    ]
    got = report(backups)
    assert got.total == 9
    assert dict(got.by_status) == {
        "completed": 5,
        "failed": 1,
        "aborted": 1,
        "in-progress": 1,
        "paused": 1,
    }
    # 5 good out of the 7 that finished (in-progress and paused are not counted).
    assert got.success_rate == pytest.approx(5 / 7)
    lines = summary_lines(got)
    assert "9 backups, 71.4% successful." in lines
    assert sum(d.other for d in got.daily) == 2


def test_backups_outside_the_period_are_not_counted() -> None:
    got = report([b("old", UNTIL - 8 * DAY), b("new", UNTIL - DAY), b("future", UNTIL + DAY)])
    assert got.total == 1 and dict(got.by_status) == {"completed": 1}


def test_failures_aborts_and_anomalies_are_listed_with_their_addon() -> None:
    # Eight normal 1 GB backups before the period (the baseline), then in the period:
    # an empty one (anomaly), a 100 MB one (under half the 1 GB median: anomaly), a
    # failure and an abort of users-db.
    baseline = [b(f"base{i}", UNTIL - (10 + i) * DAY) for i in range(8)]
    period = [
        b("empty", UNTIL - 6 * DAY, size=0),
        b("small", UNTIL - 5 * DAY, size=100 * 1024**2),
        b("ok", UNTIL - 4 * DAY),
        b("broke", UNTIL - 3 * DAY, "failed", addon="users-db"),
        b("stopped", UNTIL - 2 * DAY, "aborted", addon="users-db"),
    ]
    got = report(baseline + period)
    kinds = [(p.kind, p.addon, p.backup_name) for p in got.problems]
    assert kinds == [
        (ProblemKind.ANOMALY, "orders-db", "orders-db-empty"),
        (ProblemKind.ANOMALY, "orders-db", "orders-db-small"),
        (ProblemKind.FAILED, "users-db", "users-db-broke"),
        (ProblemKind.ABORTED, "users-db", "users-db-stopped"),
    ]
    assert got.problems[0].detail == "0 B: the backup is empty."
    assert "against a median of 1.0 GiB" in (got.problems[1].detail or "")
    lines = summary_lines(got)
    assert "Problems: 1 failed, 1 aborted, 2 anomaly." in lines
    assert any(line.startswith("• failed: users-db, users-db-broke") for line in lines)


def test_a_size_drop_without_five_backups_to_compare_is_not_an_anomaly() -> None:
    got = report(
        [b(f"x{i}", UNTIL - (6 - i) * DAY) for i in range(3)] + [b("tiny", UNTIL - DAY, size=1024)]
    )
    assert got.problems == ()
    assert "all good" in summary_lines(got)[1]


def test_missed_daily_runs_are_counted_from_the_first_backup_of_the_addon() -> None:
    # Daily at 02:00. Backups on Dec 1 (first known), Dec 2 (8 minutes early: counts),
    # none on Dec 3 and Dec 4, Dec 5 at 02:01. Until is Dec 5 12:00: missed Dec 3 and 4.
    days = [
        datetime(2026, 12, 1, 2, 1, tzinfo=UTC),
        datetime(2026, 12, 2, 1, 52, tzinfo=UTC),
        datetime(2026, 12, 5, 2, 1, tzinfo=UTC),
    ]
    got = report([b(f"d{i}", when, schedules=(DAILY_AT_2,)) for i, when in enumerate(days)])
    missed = [p.at for p in got.problems if p.kind is ProblemKind.MISSED]
    assert missed == [datetime(2026, 12, 3, 2, tzinfo=UTC), datetime(2026, 12, 4, 2, tzinfo=UTC)]


def test_a_run_still_within_its_grace_is_not_missed_yet() -> None:
    # Daily at 02:00 with a 1 h grace; until 02:30: today's run may still come.
    until = datetime(2026, 12, 5, 2, 30, tzinfo=UTC)
    got = report(
        [b("y", datetime(2026, 12, 4, 2, 0, tzinfo=UTC), schedules=(DAILY_AT_2,))],
        days=2,
        until=until,
    )
    assert [p for p in got.problems if p.kind is ProblemKind.MISSED] == []


def test_hourly_runs_with_two_gaps() -> None:
    # Hourly for three days up to UNTIL, except 10:00 and 11:00 on Dec 4 (one gap of two
    # runs) and 05:00 on Dec 5 (a gap of one): three missed runs.
    start = UNTIL - 3 * DAY
    gaps = {datetime(2026, 12, 4, 10, tzinfo=UTC), datetime(2026, 12, 4, 11, tzinfo=UTC)}
    gaps.add(datetime(2026, 12, 5, 5, tzinfo=UTC))
    hours = [start + timedelta(hours=h) for h in range(3 * 24 + 1)]
    backups = [b(f"h{i}", t, schedules=(HOURLY,)) for i, t in enumerate(hours) if t not in gaps]
    got = report(backups, days=3)
    assert sorted(p.at for p in got.problems if p.kind is ProblemKind.MISSED) == sorted(gaps)


def test_the_longest_time_without_a_good_backup_per_addon() -> None:
    # orders-db: good daily from -13d to -8d (before the period), then good at -5d,
    # failed at -3d, empty at -2d, nothing since: the stretches are -8d to -5d (3 days,
    # starting at the last good backup before the period) and -5d to until (5 days:
    # neither the failure nor the empty backup ends it).
    # users-db: good daily at 09:00.
    orders = [
        *[b(f"o-base{i}", UNTIL - (8 + i) * DAY) for i in range(6)],
        b("o-good", UNTIL - 5 * DAY),
        b("o-fail", UNTIL - 3 * DAY, "failed"),
        b("o-empty", UNTIL - 2 * DAY, size=0),
    ]
    users = [b(f"u{i}", UNTIL - i * DAY - timedelta(hours=3), addon="users-db") for i in range(7)]
    got = report(orders + users)
    gaps = {a.addon: a.longest_gap for a in got.addons}
    assert gaps["orders-db"] == 5 * DAY
    # users-db: a day between backups; 21h from the period's start to the first of them.
    assert gaps["users-db"] == DAY
    assert "Longest without a good backup: orders-db 5d, users-db 1d." in summary_lines(got)


def test_stored_size_at_both_ends_and_the_slowest_addon() -> None:
    # At the start: a (1 GB, expires inside the period) and c (3 GB, never expires).
    # At the end: c, d (2 GB). a expired, e failed (no size counted).
    backups = [
        b("a", UNTIL - 10 * DAY, expires=UNTIL - 3 * DAY),
        b("c", UNTIL - 9 * DAY, addon="users-db", size=3 * GB, took=timedelta(hours=2)),
        b("d", UNTIL - 2 * DAY, size=2 * GB),
        b("e", UNTIL - DAY, "failed", size=5 * GB),
    ]
    got = report(backups)
    assert (got.stored_bytes_start, got.stored_bytes_end) == (4 * GB, 5 * GB)
    assert "Stored: 5.0 GiB (+1.0 GiB over the period)." in summary_lines(got)
    # users-db has no completed backup in the period: orders-db (10 min) is the slowest.
    assert got.slowest is not None and got.slowest.addon == "orders-db"


def test_the_next_three_expiries_after_the_period_in_order() -> None:
    backups = [
        b(f"e{i}", UNTIL - DAY - i * timedelta(hours=1), expires=UNTIL + (5 - i) * DAY)
        for i in range(5)
    ]
    backups.append(b("gone", UNTIL - DAY, expires=UNTIL - timedelta(hours=1)))
    got = report(backups)
    assert [e.backup_name for e in got.next_expiries] == [
        "orders-db-e4",
        "orders-db-e3",
        "orders-db-e2",
    ]


def test_one_entry_a_day_with_its_stacks_and_bytes() -> None:
    backups = [
        b("x1", UNTIL - timedelta(hours=1)),
        b("x2", UNTIL - timedelta(hours=2), "failed"),
        b("x3", UNTIL - 2 * DAY, size=2 * GB),
    ]
    got = report(backups, days=3)
    assert [d.day.isoformat() for d in got.daily] == [
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
        "2026-12-05",
    ]
    today = got.daily[-1]
    assert (today.completed, today.failed, today.completed_bytes) == (1, 1, GB)
    assert got.daily[1].completed_bytes == 2 * GB and got.daily[0].total == 0


def test_how_far_back_it_reaches_is_said_only_when_short_of_the_period() -> None:
    backups = [b("x", UNTIL - DAY)]
    full = report(backups, read_since=UNTIL - 30 * DAY)
    assert full.read_since is None
    short = report(backups, read_since=UNTIL - 3 * DAY, source=ReportSource.API)
    assert short.read_since == UNTIL - 3 * DAY
    assert "Northflank was read within a listing's page budget" in summary_lines(short)[1]
    stored = report(backups, read_since=UNTIL - 3 * DAY)
    assert "watched this destination since then" in summary_lines(stored)[1]


def test_an_empty_period_is_said_in_a_sentence() -> None:
    got = report([b("old", UNTIL - 30 * DAY)])
    assert got.is_empty and got.success_rate is None and got.problems == ()
    assert summary_lines(got) == [
        "Backup report for Primary: the last 7 days",
        "No backups were made in these 7 days.",
    ]


def test_the_chart_shows_the_five_biggest_addons_with_durations() -> None:
    backups = [b(f"a{i}", UNTIL - DAY, addon=f"addon-{i}", size=(i + 1) * GB) for i in range(7)]
    backups.append(b("run", UNTIL - DAY, "in-progress", addon="addon-99", size=99 * GB))
    got = report(backups)
    assert [a.addon for a in got.chart_addons] == [f"addon-{i}" for i in (6, 5, 4, 3, 2)]


def test_past_ten_problems_the_rest_are_counted() -> None:
    backups = [b(f"f{i}", UNTIL - timedelta(hours=i + 1), "failed") for i in range(13)]
    lines = summary_lines(report(backups))
    listed = [line for line in lines if line.startswith("• failed")]
    assert len(listed) == PROBLEMS_LISTED
    assert "• and 3 more." in lines


def test_the_period_is_half_open_so_consecutive_reports_never_count_a_backup_twice() -> None:
    midnight = datetime(2026, 12, 7, tzinfo=UTC)
    on_the_line = b("edge", midnight - 7 * DAY)
    this_week = report([on_the_line, b("end", midnight)], until=midnight)
    last_week = report([on_the_line], until=midnight - 7 * DAY)
    assert this_week.total == 1 and last_week.total == 0  # "edge" counted once, "end" next week
    # Ending at midnight, seven whole days and no empty eighth.
    assert [d.day.isoformat() for d in this_week.daily] == [
        f"2026-11-{day}" for day in range(30, 31)
    ] + [f"2026-12-0{day}" for day in range(1, 7)]


def test_one_backup_and_one_day_read_as_english() -> None:
    one = summary_lines(report([b("x", UNTIL - timedelta(hours=1))], days=1))
    assert one[:2] == [
        "Backup report for Primary: the last 1 day",
        "1 backup, 100.0% successful, all good.",
    ]
    assert summary_lines(report([], days=1))[1] == "No backups were made in the last day."
