"""The health judgement: pure, over what the server observed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.runtime.health import STALE_AFTER_INTERVALS, Observations, SchedulerView, judge

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
INTERVAL = 300.0
STALE = timedelta(seconds=INTERVAL * STALE_AFTER_INTERVALS)


def seen(**scheduler_changes: object) -> Observations:
    scheduler = SchedulerView(
        running=True,
        interval=INTERVAL,
        started_at=NOW - timedelta(hours=5),
        last_success=NOW - timedelta(minutes=4),
        running_since=None,
        next_run_at=NOW + timedelta(minutes=1),
    )
    return Observations(
        now=NOW,
        scheduler=replace(scheduler, **scheduler_changes),  # type: ignore[arg-type]
        delivery_running=True,
        database_error=None,
    )


def test_a_recent_poll_a_running_scheduler_and_a_database_are_healthy() -> None:
    report = judge(seen())
    assert report.healthy and report.reasons == []
    body = report.as_json()
    assert body["status"] == "ok"
    assert body["last_successful_poll"]["age_seconds"] == 240.0
    assert body["last_successful_poll"]["stale_after_seconds"] == STALE.total_seconds()
    assert body["database"] == {"reachable": True}


def test_a_stopped_scheduler_is_unhealthy() -> None:
    report = judge(seen(running=False, next_run_at=None))
    assert not report.healthy
    assert report.reasons == ["the poll scheduler is not running"]
    assert report.as_json()["status"] == "unhealthy"


def test_a_scheduler_without_its_poll_job_is_unhealthy() -> None:
    assert judge(seen(next_run_at=None)).reasons == ["the poll job is not scheduled"]


def test_the_last_poll_is_stale_only_after_three_intervals() -> None:
    assert judge(seen(last_success=NOW - STALE)).healthy
    report = judge(seen(last_success=NOW - STALE - timedelta(seconds=1)))
    assert report.reasons == ["no poll has finished for 15m 1s"]


def test_a_poll_that_hangs_is_named_as_such() -> None:
    report = judge(
        seen(last_success=NOW - timedelta(hours=2), running_since=NOW - timedelta(minutes=95))
    )
    assert report.reasons == ["a poll has been running for 1h 35m"]


def test_a_new_process_gets_the_same_grace_before_its_first_poll() -> None:
    assert judge(seen(last_success=None, started_at=NOW - timedelta(minutes=10))).healthy
    report = judge(seen(last_success=None, started_at=NOW - timedelta(minutes=20)))
    assert report.reasons == ["no poll has finished since the start, 20m ago"]


def test_an_unreachable_database_is_unhealthy_and_says_why() -> None:
    report = judge(replace(seen(), database_error="ConnectionRefusedError"))
    assert report.reasons == ["the database is unreachable (ConnectionRefusedError)"]
    assert report.as_json()["database"] == {
        "reachable": False,
        "error": "ConnectionRefusedError",
    }


def test_a_stopped_delivery_loop_is_unhealthy() -> None:
    report = judge(replace(seen(), delivery_running=False))
    assert report.reasons == ["the alert delivery loop has stopped"]


def test_every_problem_is_listed_at_once() -> None:
    report = judge(
        replace(
            seen(running=False, last_success=NOW - timedelta(days=1)),
            database_error="TimeoutError",
            delivery_running=False,
        )
    )
    assert len(report.reasons) == 4


def test_without_scheduling_or_background_delivery_only_the_database_counts() -> None:
    report = judge(Observations(NOW, None, None, None))
    assert report.healthy
    assert report.as_json()["scheduler"]["running"] is None
