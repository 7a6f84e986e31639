"""Silent failures: which completed backups look wrong, and the words that say why. Pure."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import rules
from bot.core.anomalies import (
    BASELINE_SIZE,
    FLAGGED_KEPT_FOR,
    RECENT_KEPT,
    Anomaly,
    AnomalyKind,
    CompletedRun,
    anomaly_of,
    describe,
    findings,
    merge_recent,
)

T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
MB = 1_000_000


def run(
    index: int,
    *,
    size: int | None = 840 * MB,
    took: timedelta = timedelta(minutes=10),
    since: datetime | None = None,
) -> CompletedRun:
    created = T0 + timedelta(days=index)
    return CompletedRun(
        backup_id=f"b{index}",
        name=f"nightly-{index}",
        created_at=created,
        completed_at=created + took,
        size_bytes=size,
        status_since=since or created + took,
    )


def history(
    count: int, *, size: int | None = 840 * MB, took: timedelta = timedelta(minutes=10)
) -> list[CompletedRun]:
    return [run(i, size=size, took=took) for i in range(count)]


def test_a_backup_like_the_others_is_normal() -> None:
    assert anomaly_of(run(20, size=800 * MB), history(10)) is None


def test_under_half_the_median_size_is_an_anomaly_with_its_figures() -> None:
    found = anomaly_of(run(20, size=int(1.2 * MB)), history(10))
    assert found == Anomaly(
        AnomalyKind.SMALL, int(1.2 * MB), 600.0, 840 * MB, 600.0, compared=BASELINE_SIZE
    )
    assert describe(found) == "1.1 MiB, against a median of 801.1 MiB over the last 10 backups."


def test_half_the_median_exactly_is_not_an_anomaly() -> None:
    assert anomaly_of(run(20, size=420 * MB), history(10)) is None
    assert anomaly_of(run(20, size=420 * MB - 1), history(10)) is not None


def test_an_empty_backup_is_an_anomaly_whatever_the_history() -> None:
    assert anomaly_of(run(0, size=0), []) == Anomaly(AnomalyKind.EMPTY, 0, 600.0, None, None, 0)
    found = anomaly_of(run(20, size=0), history(10))
    assert found is not None and found.kind is AnomalyKind.EMPTY
    assert describe(found) == "0 B: the backup is empty."


def test_a_size_drop_needs_five_backups_to_compare_with() -> None:
    assert anomaly_of(run(20, size=MB), history(4)) is None
    assert anomaly_of(run(20, size=MB), history(5)) is not None


def test_the_median_is_over_the_last_ten_only() -> None:
    # Ten small backups, then a recovery to the old size: against the last ten
    # (all small) the big one is fine, and a small one is too.
    older_big = history(10, size=840 * MB)
    recent_small = [run(10 + i, size=10 * MB) for i in range(10)]
    assert anomaly_of(run(30, size=9 * MB), older_big + recent_small) is None
    assert anomaly_of(run(30, size=9 * MB), older_big + recent_small[:4]) is not None


def test_over_three_times_the_median_duration_and_five_minutes_longer_is_slow() -> None:
    found = anomaly_of(run(20, took=timedelta(minutes=31)), history(10))
    assert found is not None and found.kind is AnomalyKind.SLOW
    assert describe(found) == "took 31m, against a median of 10m over the last 10 backups."
    assert anomaly_of(run(20, took=timedelta(minutes=30)), history(10)) is None


def test_a_slow_tiny_dump_is_noise_not_news() -> None:
    # Four seconds against a one-second median: over three times, but not five minutes longer.
    quick = history(10, took=timedelta(seconds=1))
    assert anomaly_of(run(20, took=timedelta(seconds=4)), quick) is None
    assert anomaly_of(run(20, took=timedelta(minutes=5, seconds=2)), quick) is not None


def test_a_backup_without_a_size_or_completion_time_is_judged_on_what_it_has() -> None:
    assert anomaly_of(run(20, size=None), history(10)) is None
    unsized = history(10, size=None)
    assert anomaly_of(run(20, size=MB), unsized) is None


def test_findings_judge_each_run_against_those_before_it() -> None:
    runs = [*history(6), run(6, size=0), run(7, size=MB), run(8)]
    judged = [(r.backup_id, a.kind if a else None) for r, a in findings(runs)]
    assert judged[-3:] == [("b6", AnomalyKind.EMPTY), ("b7", AnomalyKind.SMALL), ("b8", None)]
    assert all(kind is None for _, kind in judged[:6])


def test_kept_runs_are_the_newest_oldest_first_and_keep_when_they_were_seen() -> None:
    kept = merge_recent([], history(RECENT_KEPT))
    assert len(kept) == RECENT_KEPT
    seen_later = run(RECENT_KEPT - 1, since=T0 + timedelta(days=999))
    newer = run(RECENT_KEPT + 1)
    merged = merge_recent(kept, [newer, seen_later, run(0)])
    assert [r.backup_id for r in merged] == [f"b{i}" for i in range(1, RECENT_KEPT)] + [
        f"b{RECENT_KEPT + 1}"
    ]
    # Read again, a run keeps the moment it was first seen completing.
    assert merged[-2].status_since == run(RECENT_KEPT - 1).status_since


def test_a_poll_that_brings_more_runs_than_are_kept_loses_none_of_their_anomalies() -> None:
    # A day and a half down with hourly backups: 40 new runs in one read, the empty
    # one among the oldest of them. It is judged before the rollup drops old runs,
    # and kept past the RECENT_KEPT newest so that the rules still raise it.
    hourly = [
        dataclasses.replace(r, created_at=T0 + timedelta(hours=i))
        for i, r in enumerate(history(50))
    ]
    kept = merge_recent([], hourly[:10])
    empty = dataclasses.replace(hourly[12], size_bytes=0)
    small = dataclasses.replace(hourly[14], size_bytes=MB)
    merged = merge_recent(kept, [*hourly[10:12], empty, hourly[13], small, *hourly[15:]])
    assert len(merged) == RECENT_KEPT + 2
    unusual = [(r.backup_id, a.kind) for r, a in findings(merged) if a is not None]
    assert unusual == [("b12", AnomalyKind.EMPTY), ("b14", AnomalyKind.SMALL)]
    # Taken in again with the next read, the verdicts stand and nothing is judged anew.
    again = merge_recent(merged, [dataclasses.replace(hourly[49], name="renamed")])
    assert again == merged


def test_a_run_judged_unusual_leaves_the_rollup_after_the_rules_stop_looking() -> None:
    assert FLAGGED_KEPT_FOR == rules.LOOKBACK
    daily = merge_recent([], [run(0, size=0), *history(RECENT_KEPT + 8)[1:]])
    assert [r.backup_id for r in daily] == [f"b{i}" for i in range(8, RECENT_KEPT + 8)]
    # Hourly, the same run is a day and a half old when pushed out: still kept.
    hourly = [
        dataclasses.replace(r, created_at=T0 + timedelta(hours=i))
        for i, r in enumerate([run(0, size=0), *history(RECENT_KEPT + 8)[1:]])
    ]
    assert [r.backup_id for r in merge_recent([], hourly)][:2] == ["b0", "b8"]


def test_a_verdict_is_given_once_and_survives_the_store() -> None:
    # Judged normal against its own baseline, a run stays normal however the
    # baseline moves later: the alert, if any, is about the moment it completed.
    first = merge_recent([], [*history(10), run(10, size=500 * MB)])
    assert [a for _, a in findings(first)] == [None] * 11
    stored = [CompletedRun.from_json(r.to_json()) for r in first]
    assert tuple(stored) == first
    later = merge_recent(stored, [run(11 + i, size=1100 * MB) for i in range(10)])
    assert dict((r.backup_id, a) for r, a in findings(later))["b10"] is None


def test_runs_stored_before_verdicts_were_kept_are_judged_on_what_is_kept() -> None:
    legacy = [CompletedRun.from_json({**r.to_json(), "judged": None}) for r in history(6)]
    legacy.append(CompletedRun.from_json({**run(6, size=MB).to_json(), "judged": None}))
    assert [a.kind if a else None for _, a in findings(legacy)][-1] is AnomalyKind.SMALL


@pytest.mark.parametrize(
    "found", [anomaly_of(run(20, size=0), []), Anomaly(AnomalyKind.SLOW, 5, 9.5, 7.0, 1.5, 10)]
)
def test_a_run_and_an_anomaly_round_trip_through_json(found: Anomaly | None) -> None:
    assert found is not None and Anomaly.from_json(found.to_json()) == found
    assert CompletedRun.from_json(run(3).to_json()) == run(3)


def test_a_long_history_read_at_once_keeps_what_judging_every_run_would_keep() -> None:
    # A first read of three months of runs every ten minutes, read page by page newest
    # first as the poller does: only the runs the rollup can keep are judged, and what
    # it keeps is what judging every run against those before it would keep.
    every_ten_minutes = [
        dataclasses.replace(
            r,
            created_at=T0 + timedelta(minutes=10 * i),
            completed_at=T0 + timedelta(minutes=10 * i + 5),
            size_bytes=0 if i % 97 == 0 else (MB if i % 89 == 0 else r.size_bytes),
        )
        for i, r in enumerate(history(13_000))
    ]
    kept: tuple[CompletedRun, ...] = ()
    for end in range(len(every_ten_minutes), 0, -100):
        kept = merge_recent(kept, every_ten_minutes[max(0, end - 100) : end])

    expected = _keep_after_judging_all(every_ten_minutes[-100:])
    for end in range(len(every_ten_minutes) - 100, 0, -100):
        expected = _keep_after_judging_all([*every_ten_minutes[max(0, end - 100) : end], *expected])
    assert kept == expected
    flagged = [r.backup_id for r in kept if r.anomaly is not None]
    assert flagged and all(int(b[1:]) % 97 == 0 or int(b[1:]) % 89 == 0 for b in flagged)


def _keep_after_judging_all(runs: list[CompletedRun]) -> tuple[CompletedRun, ...]:
    """The rollup's rule stated plainly: judge every run not judged yet, keep the
    RECENT_KEPT newest and the unusual ones within FLAGGED_KEPT_FOR of the newest."""
    ordered = sorted({r.backup_id: r for r in runs}.values(), key=lambda r: r.created_at)
    judged = [
        r if r.judged else dataclasses.replace(r, judged=True, anomaly=found)
        for r, found in findings(ordered)
    ]
    since = judged[-1].created_at - FLAGGED_KEPT_FOR
    older = [r for r in judged[:-RECENT_KEPT] if r.anomaly is not None and r.created_at >= since]
    return (*older, *judged[-RECENT_KEPT:])
