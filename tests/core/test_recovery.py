"""Recovery by Northflank's timeline, and the anomaly alerts, decided by the rules. Pure.

Each interleaving of a problem, its retry and the polls that see them: the
answer must not depend on when the bot looked.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.core.alerts import Alert, LedgerEntry, missed_subject
from bot.core.anomalies import CompletedRun
from bot.core.backups import Backup, BackupStatus
from bot.core.destination_state import AddonState
from bot.core.recovery import good_backup
from bot.core.watches import Event
from tests.core.test_rules import (
    ADDON,
    EVERY_HOUR,
    PROJECT,
    START,
    addon_state,
    at,
    backup,
    destination,
    entry,
    known,
    ledger,
    run,
    summary,
    watch,
)

MB = 1_000_000


def completed(backup_id: str, created: datetime, *, size: int = 500 * MB) -> Backup:
    """A completed backup, ten minutes long."""
    return Backup(
        id=backup_id,
        name=backup_id,
        status=BackupStatus.COMPLETED,
        status_text="completed",
        created_at=created,
        completed_at=created + timedelta(minutes=10),
        size_bytes=size,
        project=PROJECT,
        addon=ADDON,
    )


def as_run(b: Backup, seen: datetime | None = None) -> CompletedRun:
    assert b.completed_at is not None
    return CompletedRun(
        b.id, b.name, b.created_at, b.completed_at, b.size_bytes, seen or b.completed_at
    )


def addon_with(*runs: CompletedRun, latest: Backup | None = None) -> AddonState:
    """An addon whose kept completed runs are `runs` (oldest first), the newest its latest."""
    newest = latest
    if newest is None and runs:
        last = runs[-1]
        newest = completed(last.backup_id, last.created_at, size=last.size_bytes or 0)
    base = addon_state(latest_completed=newest)
    return AddonState(
        addon=base.addon,
        project=base.project,
        addon_type=base.addon_type,
        schedules=base.schedules,
        first_seen_at=base.first_seen_at,
        last_created_at=base.last_created_at,
        latest_completed=base.latest_completed,
        recent_completed=runs,
    )


def nightly(days_before: int, *, size: int = 500 * MB) -> CompletedRun:
    """One of the addon's usual backups, `days_before` the day of START, seen long ago."""
    return as_run(completed(f"n-{days_before}", START - timedelta(days=days_before), size=size))


USUAL = tuple(nightly(days) for days in range(10, 0, -1))


def recorded(
    entry_id: int, event: Event, subject: str, seen: datetime, began: datetime
) -> LedgerEntry:
    """A ledger entry as the store records it now: seen at `seen`, placed at `began`."""
    return LedgerEntry(entry_id, event, subject, ADDON.id, seen, began_at=began)


def recovery_of(alerts: list[Alert]) -> Alert:
    (recovery,) = [a for a in alerts if a.event is Event.RECOVERED]
    return recovery


# ----- failures and their retries ----------------------------------------------------------


@pytest.mark.parametrize(
    ("seen_failing", "retry_created"),
    [
        # Seen failing at 09:30; the retry started at 09:35, seen by the next poll.
        (at(9, 30), at(9, 35)),
        # The retry started at 09:20, before the poll that saw the failure: the bot saw
        # the failure after the retry was created, and Northflank's order still wins.
        (at(9, 30), at(9, 20)),
        # The retry was started while the failing run still ran, and finished first.
        (at(9, 30), at(9, 5)),
    ],
)
def test_a_retry_created_after_the_failed_backup_recovers_it_whenever_it_is_seen(
    seen_failing: datetime, retry_created: datetime
) -> None:
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(9))
    good = completed("b-retry", retry_created)
    state = destination([known(failed, since=seen_failing)], [addon_state(latest_completed=good)])
    open_problem = ledger(recorded(5, Event.FAILED, "b-bad", seen_failing, began=at(9)))
    recovery = recovery_of(run(state, the_ledger=open_problem))
    assert (recovery.subject, recovery.resolves) == ("b-retry", (5,))


@pytest.mark.parametrize("retry_created", [at(9, 5), at(9, 35)])
@pytest.mark.parametrize("status", [BackupStatus.FAILED, BackupStatus.ABORTED])
def test_a_failure_and_its_retry_first_seen_by_one_poll_leave_nothing_open(
    status: BackupStatus, retry_created: datetime
) -> None:
    # Both happened between two polls: the poll at 10:00 raises the problem and its
    # recovery together, and the store resolves the one with the other.
    failed = backup("b-bad", status, created_at=at(9), completed_at=at(9, 30))
    good = completed("b-retry", retry_created)
    state = destination([known(failed, since=at(10))], [addon_state(latest_completed=good)])
    alerts = run(state)
    event = Event.FAILED if status is BackupStatus.FAILED else Event.ABORTED
    assert (event, "b-bad") in summary(alerts)
    assert recovery_of(alerts).resolves_raised == ((event, "b-bad"),)


def test_a_retry_older_than_the_failure_is_no_recovery() -> None:
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(9))
    older = completed("b-before", at(8))
    state = destination([known(failed, since=at(10))], [addon_state(latest_completed=older)])
    assert summary(run(state)) == [(Event.FAILED, "b-bad")]


def test_a_retry_that_looks_wrong_recovers_nothing() -> None:
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(9))
    empty = completed("b-empty", at(9, 20), size=0)
    addon = addon_with(*USUAL, as_run(empty, at(10)))
    state = destination([known(failed, since=at(10))], [addon])
    assert summary(run(state)) == [(Event.FAILED, "b-bad"), (Event.ANOMALY, "b-empty")]


# ----- stuck and missed ----------------------------------------------------------------------


def test_a_stuck_backup_that_completes_recovers_itself_whenever_it_is_seen() -> None:
    # Created at 02:00, raised as stuck at 08:00, and then it completed: its createdAt is
    # where the stuck alert sits on the timeline, so its own completion recovers it.
    slow = completed("b-slow", at(2))
    state = destination(addons=[addon_state(latest_completed=slow)])
    stuck = recorded(6, Event.STUCK, "b-slow", at(8), began=at(2))
    recovery = recovery_of(run(state, the_ledger=ledger(stuck)))
    assert recovery.resolves == (6,)


def test_an_older_open_stuck_alert_is_resolved_by_a_newer_good_backup() -> None:
    stuck = entry(6, Event.STUCK, "b-hung", at(8))
    # Recorded before began_at existed: its occurred_at (the hung backup's createdAt) counts.
    good = completed("b-next", at(9))
    state = destination(addons=[addon_state(latest_completed=good)])
    assert recovery_of(run(state, the_ledger=ledger(stuck))).resolves == (6,)


def test_a_missed_run_is_recovered_by_a_backup_created_at_or_after_it() -> None:
    missed = entry(4, Event.MISSED, missed_subject(ADDON.id, at(11)), at(11))
    late = completed("b-late", at(11, 40))
    state = destination(addons=[addon_state(latest_completed=late, schedules=(EVERY_HOUR,))])
    assert recovery_of(run(state, the_ledger=ledger(missed), now=at(11, 55))).resolves == (4,)
    earlier = completed("b-earlier", at(10))
    before = destination(addons=[addon_state(latest_completed=earlier)])
    assert run(before, the_ledger=ledger(missed), now=at(11, 55)) == []


def test_a_run_missed_before_the_watch_is_alerted_once_and_named_in_the_summary() -> None:
    # Backups stopped three days ago: right after `watch` the latest run is missed.
    addon = addon_state(schedules=(EVERY_HOUR,), last_created_at=at(-72))
    state = destination(addons=[addon])
    (alert,) = run(state, watch(started_at=at(11, 55)))
    assert alert.event is Event.MISSED and alert.expected_at == at(11)
    # Raised and still open: the next runs stay quiet.
    open_missed = ledger(entry(9, Event.MISSED, alert.subject, at(11)))
    assert run(state, watch(started_at=at(11, 55)), open_missed, now=at(14, 30)) == []


# ----- anomalies ------------------------------------------------------------------------------


def test_a_completed_backup_far_smaller_than_usual_is_an_anomaly_with_its_figures() -> None:
    small = completed("b-small", at(2), size=1 * MB)
    (alert,) = run(destination(addons=[addon_with(*USUAL, as_run(small))]))
    assert (alert.event, alert.subject) == (Event.ANOMALY, "b-small")
    assert alert.anomaly is not None and alert.anomaly.median_size_bytes == 500 * MB
    assert alert.backup is not None and alert.backup.size_bytes == MB
    assert alert.began_at == small.created_at


def test_an_anomaly_before_the_watch_or_long_ago_is_history() -> None:
    small = completed("b-small", at(-5), size=1 * MB)
    addon = addon_with(*USUAL, as_run(small))
    assert run(destination(addons=[addon])) == []  # completed before the watch began
    assert run(destination(addons=[addon]), watch(started_at=at(-30))) != []
    later = run(
        destination(addons=[addon]), watch(started_at=at(-30)), now=at(0) + timedelta(days=8)
    )
    assert [a for a in later if a.event is Event.ANOMALY] == []


def test_one_open_anomaly_per_addon_and_the_next_normal_backup_resolves_it() -> None:
    first = completed("b-small-1", at(2), size=MB)
    second = completed("b-small-2", at(3), size=MB)
    addon = addon_with(*USUAL, as_run(first), as_run(second))
    assert summary(run(destination(addons=[addon]))) == [(Event.ANOMALY, "b-small-1")]
    open_anomaly = ledger(entry(3, Event.ANOMALY, "b-small-1", at(2, 10)))
    assert run(destination(addons=[addon]), the_ledger=open_anomaly) == []
    normal = completed("b-normal", at(4))
    healed = addon_with(*USUAL, as_run(first), as_run(second), as_run(normal))
    recovery = recovery_of(run(destination(addons=[healed]), the_ledger=open_anomaly))
    assert (recovery.subject, recovery.resolves) == ("b-normal", (3,))


def test_a_channel_not_watching_anomalies_hears_none_but_they_still_block_recovery() -> None:
    small = completed("b-small", at(2), size=MB)
    addon = addon_with(*USUAL, as_run(small))
    failed_earlier = ledger(entry(5, Event.FAILED, "b-bad", at(1)))
    only_failures = watch(events=[Event.FAILED])
    assert run(destination(addons=[addon]), only_failures, failed_earlier) == []


def test_the_good_backup_is_the_newest_completed_unless_it_looks_wrong() -> None:
    normal = completed("b-normal", at(2))
    assert good_backup(addon_with(*USUAL, as_run(normal))) == normal
    empty = completed("b-empty", at(2), size=0)
    assert good_backup(addon_with(*USUAL, as_run(empty))) is None
    # A rollup from before runs were kept: judged alone.
    assert good_backup(addon_state(latest_completed=normal)) == normal
    assert good_backup(addon_state(latest_completed=empty)) is None
