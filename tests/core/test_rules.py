"""The alert rules, one behaviour per test, with explicit UTC moments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.alerts import Alert, Ledger, LedgerEntry, missed_subject, outage_subject
from bot.core.backups import Backup, BackupStatus, Ref, Schedule, ScheduleInterval
from bot.core.destination_state import AddonState, DestinationState, KnownBackup
from bot.core.rules import (
    PROBLEM_AFTER_FAILED_POLLS,
    evaluate,
    expiry_horizon,
    northflank_health,
)
from bot.core.watches import (
    DEFAULT_EXPIRY,
    DEFAULT_STUCK,
    WATCHABLE_EVENTS,
    Event,
    Watch,
    WatchSettings,
)

DESTINATION = "dest-1"
ADDON = Ref("addon-1", "orders-db")
OTHER_ADDON = Ref("addon-2", "users-db")
PROJECT = Ref("project-1", "Shop")
EVERY_HOUR = Schedule(ScheduleInterval.HOURLY, minutes=(0,))

# The watch began at midnight on Wednesday 10 January 2024; "now" is noon that day.
START = datetime(2024, 1, 10, tzinfo=UTC)
NOW = START + timedelta(hours=12)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A moment on the day of START (negative hours reach back before it)."""
    return START + timedelta(hours=hour, minutes=minute, seconds=second)


def backup(
    backup_id: str = "b-1",
    status: BackupStatus = BackupStatus.COMPLETED,
    *,
    created_at: datetime,
    completed_at: datetime | None = None,
    expires_at: datetime | None = None,
    addon: Ref = ADDON,
    schedules: tuple[Schedule, ...] = (),
) -> Backup:
    return Backup(
        id=backup_id,
        name=f"backup {backup_id}",
        status=status,
        status_text=status.value,
        created_at=created_at,
        completed_at=completed_at,
        expires_at=expires_at,
        project=PROJECT,
        addon=addon,
        schedules=schedules,
    )


def known(b: Backup, since: datetime | None = None) -> KnownBackup:
    return KnownBackup(backup=b, status_since=since or b.completed_at or b.created_at)


def addon_state(
    *,
    addon: Ref = ADDON,
    schedules: tuple[Schedule, ...] = (),
    first_seen_at: datetime = START - timedelta(days=30),
    last_created_at: datetime | None = None,
    latest_completed: Backup | None = None,
) -> AddonState:
    if last_created_at is None:
        last_created_at = latest_completed.created_at if latest_completed else first_seen_at
    return AddonState(
        addon=addon,
        project=PROJECT,
        addon_type="postgresql",
        schedules=schedules,
        first_seen_at=first_seen_at,
        last_created_at=last_created_at,
        latest_completed=latest_completed,
    )


def destination(
    backups: Iterable[KnownBackup] = (), addons: Iterable[AddonState] = ()
) -> DestinationState:
    return DestinationState(DESTINATION, backups=tuple(backups), addons=tuple(addons))


def watch(
    *,
    started_at: datetime = START,
    events: Iterable[Event] = WATCHABLE_EVENTS,
    expiry: timedelta = DEFAULT_EXPIRY,
    stuck: timedelta = DEFAULT_STUCK,
) -> Watch:
    return Watch(
        id=1,
        channel="C123",
        destination_id=DESTINATION,
        destination_name="main-backups",
        settings=WatchSettings(events=frozenset(events), expiry=expiry, stuck=stuck),
        started_at=started_at,
        created_by="U123",
    )


def entry(
    entry_id: int,
    event: Event,
    subject: str,
    occurred_at: datetime,
    addon_id: str | None = ADDON.id,
) -> LedgerEntry:
    return LedgerEntry(entry_id, event, subject, addon_id, occurred_at)


def ledger(*entries: LedgerEntry, raised: Iterable[tuple[Event, str]] = ()) -> Ledger:
    """A ledger holding `entries` as open problems (and so as raised), plus `raised`."""
    held = {(e.event, e.subject) for e in entries} | set(raised)
    return Ledger(raised=frozenset(held), open_problems=entries)


def run(
    state: DestinationState,
    the_watch: Watch | None = None,
    the_ledger: Ledger | None = None,
    now: datetime = NOW,
) -> list[Alert]:
    return evaluate(state, the_watch or watch(), the_ledger or Ledger(), now)


def summary(alerts: Iterable[Alert]) -> list[tuple[Event, str]]:
    return [(a.event, a.subject) for a in alerts]


# ----- failed and aborted ------------------------------------------------------------------


def test_a_failure_after_the_watch_began_is_alerted_with_its_details() -> None:
    failed = backup("b-9", BackupStatus.FAILED, created_at=at(9))
    (alert,) = run(destination([known(failed, since=at(9, 20))]))
    assert alert.event is Event.FAILED and alert.subject == "b-9"
    assert alert.occurred_at == at(9, 20)
    assert alert.backup == failed
    assert (alert.addon, alert.project, alert.destination_id) == (ADDON, PROJECT, DESTINATION)


def test_an_abort_after_the_watch_began_is_alerted() -> None:
    aborted = backup("b-9", BackupStatus.ABORTED, created_at=at(9))
    assert summary(run(destination([known(aborted, since=at(9, 5))]))) == [(Event.ABORTED, "b-9")]


def test_a_failure_exactly_when_the_watch_began_is_news() -> None:
    failed = backup("b-9", BackupStatus.FAILED, created_at=at(-1))
    assert summary(run(destination([known(failed, since=START)]))) == [(Event.FAILED, "b-9")]


def test_a_failure_before_the_watch_began_is_history() -> None:
    failed = backup("b-9", BackupStatus.FAILED, created_at=at(-2))
    since = START - timedelta(seconds=1)
    assert run(destination([known(failed, since=since)])) == []


def test_a_failure_already_in_the_ledger_is_not_raised_again() -> None:
    failed = backup("b-9", BackupStatus.FAILED, created_at=at(9))
    raised = ledger(raised=[(Event.FAILED, "b-9")])
    assert run(destination([known(failed, since=at(9, 5))]), the_ledger=raised) == []


def test_a_channel_that_does_not_watch_failures_hears_only_aborts() -> None:
    failed = backup("b-1", BackupStatus.FAILED, created_at=at(9))
    aborted = backup("b-2", BackupStatus.ABORTED, created_at=at(9))
    state = destination([known(failed, since=at(10)), known(aborted, since=at(10))])
    the_watch = watch(events=[Event.ABORTED])
    assert summary(run(state, the_watch)) == [(Event.ABORTED, "b-2")]


# ----- stuck -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status", [BackupStatus.SCHEDULED, BackupStatus.IN_PROGRESS, BackupStatus.ABORTING]
)
def test_a_backup_unfinished_for_the_stuck_time_is_stuck(status: BackupStatus) -> None:
    hung = backup("b-5", status, created_at=NOW - DEFAULT_STUCK)
    (alert,) = run(destination([known(hung)]))
    assert (alert.event, alert.subject) == (Event.STUCK, "b-5")
    assert alert.occurred_at == hung.created_at
    assert alert.backup == hung and alert.addon == ADDON


def test_a_backup_a_second_short_of_the_stuck_time_is_not_stuck() -> None:
    running = backup("b-5", BackupStatus.IN_PROGRESS, created_at=NOW - DEFAULT_STUCK + timedelta(1))
    assert run(destination([known(running)])) == []


def test_a_backup_stuck_since_before_the_watch_began_is_still_alerted() -> None:
    hung = backup("b-5", BackupStatus.IN_PROGRESS, created_at=START - timedelta(days=2))
    assert summary(run(destination([known(hung)]))) == [(Event.STUCK, "b-5")]


def test_the_stuck_time_comes_from_the_watch() -> None:
    running = backup("b-5", BackupStatus.IN_PROGRESS, created_at=NOW - timedelta(hours=2))
    state = destination([known(running)])
    assert run(state) == []
    assert summary(run(state, watch(stuck=timedelta(hours=1)))) == [(Event.STUCK, "b-5")]


def test_a_stuck_backup_already_alerted_is_not_raised_again() -> None:
    hung = backup("b-5", BackupStatus.IN_PROGRESS, created_at=START - timedelta(days=2))
    raised = ledger(raised=[(Event.STUCK, "b-5")])
    assert run(destination([known(hung)]), the_ledger=raised) == []


# ----- statuses that raise nothing ---------------------------------------------------------


@pytest.mark.parametrize("status", [BackupStatus.UNKNOWN, BackupStatus.NOT_SUPPORTED])
def test_unknown_and_unsupported_statuses_raise_nothing(status: BackupStatus) -> None:
    # Old enough to be stuck, recent enough to be news, about to expire: still nothing.
    odd = backup(
        "b-7", status, created_at=START - timedelta(days=3), expires_at=NOW + timedelta(hours=1)
    )
    assert run(destination([known(odd, since=at(11))])) == []


# ----- expiring ----------------------------------------------------------------------------


def test_a_manual_backup_expiring_within_the_window_is_warned_about() -> None:
    manual = backup(
        "b-3", created_at=at(-100), completed_at=at(-99), expires_at=NOW + timedelta(hours=24)
    )
    (alert,) = run(destination([known(manual)]))
    assert (alert.event, alert.subject) == (Event.EXPIRING, "b-3")
    # It entered the 72-hour warning window 48 hours ago.
    assert alert.occurred_at == NOW - timedelta(hours=48)
    assert alert.backup == manual and alert.addon == ADDON


@pytest.mark.parametrize(
    ("expires_in", "warned"),
    [
        (timedelta(0), False),  # expires right now: too late to warn
        (-timedelta(hours=1), False),  # already gone
        (timedelta(seconds=1), True),
        (DEFAULT_EXPIRY, True),  # exactly at the window's edge
        (DEFAULT_EXPIRY + timedelta(seconds=1), False),
    ],
)
def test_the_expiry_window_edges(expires_in: timedelta, warned: bool) -> None:
    manual = backup("b-3", created_at=at(-100), expires_at=NOW + expires_in)
    alerts = run(destination([known(manual)]))
    assert summary(alerts) == ([(Event.EXPIRING, "b-3")] if warned else [])


def test_the_expiry_window_comes_from_the_watch() -> None:
    manual = backup("b-3", created_at=at(-100), expires_at=NOW + timedelta(hours=24))
    assert run(destination([known(manual)]), watch(expiry=timedelta(hours=12))) == []


def test_a_backup_kept_less_than_the_window_entered_it_when_created() -> None:
    short_lived = backup("b-3", created_at=at(6), expires_at=at(6) + timedelta(hours=24))
    (alert,) = run(destination([known(short_lived)]))
    assert alert.occurred_at == at(6)


def test_a_scheduled_backup_replaced_by_a_newer_one_is_not_warned_about() -> None:
    old = backup(
        "b-old", created_at=at(-60), expires_at=NOW + timedelta(hours=12), schedules=(EVERY_HOUR,)
    )
    newer = backup(
        "b-new", created_at=at(11), expires_at=NOW + timedelta(days=3), schedules=(EVERY_HOUR,)
    )
    state = destination([known(old)], [addon_state(latest_completed=newer)])
    assert run(state) == []


def test_a_scheduled_backup_that_is_the_addons_newest_is_warned_about() -> None:
    newest = backup(
        "b-new", created_at=at(-60), expires_at=NOW + timedelta(hours=12), schedules=(EVERY_HOUR,)
    )
    state = destination([known(newest)], [addon_state(latest_completed=newest)])
    assert summary(run(state)) == [(Event.EXPIRING, "b-new")]


def test_a_manual_backup_is_warned_about_even_with_newer_backups() -> None:
    manual = backup("b-manual", created_at=at(-60), expires_at=NOW + timedelta(hours=12))
    newer = backup("b-new", created_at=at(11), schedules=(EVERY_HOUR,))
    state = destination([known(manual)], [addon_state(latest_completed=newer)])
    assert summary(run(state)) == [(Event.EXPIRING, "b-manual")]


def test_a_newer_backup_of_another_addon_does_not_replace_a_scheduled_one() -> None:
    scheduled = backup(
        "b-1", created_at=at(-60), expires_at=NOW + timedelta(hours=12), schedules=(EVERY_HOUR,)
    )
    elsewhere = backup("b-2", created_at=at(11), addon=OTHER_ADDON)
    state = destination(
        [known(scheduled)],
        [
            addon_state(latest_completed=scheduled),
            addon_state(addon=OTHER_ADDON, latest_completed=elsewhere),
        ],
    )
    assert summary(run(state)) == [(Event.EXPIRING, "b-1")]


def test_only_completed_backups_are_warned_about_expiry() -> None:
    failed = backup(
        "b-3", BackupStatus.FAILED, created_at=at(-100), expires_at=NOW + timedelta(hours=1)
    )
    # History (failed before the watch), so the only possible alert would be expiring.
    assert run(destination([known(failed, since=at(-99))])) == []


def test_an_expiry_warning_already_raised_is_not_raised_again() -> None:
    manual = backup("b-3", created_at=at(-100), expires_at=NOW + timedelta(hours=1))
    raised = ledger(raised=[(Event.EXPIRING, "b-3")])
    assert run(destination([known(manual)]), the_ledger=raised) == []


# ----- missed ------------------------------------------------------------------------------


def test_a_missed_hourly_run_is_alerted_with_its_schedule() -> None:
    state = destination(addons=[addon_state(schedules=(EVERY_HOUR,), last_created_at=at(9, 1))])
    (alert,) = run(state)  # noon, 20 minutes' grace: the 11:00 run is the one that counts
    assert alert.event is Event.MISSED
    assert alert.subject == missed_subject(ADDON.id, at(11))
    assert alert.occurred_at == alert.expected_at == at(11)
    assert alert.schedule == EVERY_HOUR
    assert (alert.addon, alert.project, alert.backup) == (ADDON, PROJECT, None)


def test_a_run_within_its_grace_is_not_called_missed_yet() -> None:
    state = destination(addons=[addon_state(schedules=(EVERY_HOUR,), last_created_at=at(11, 2))])
    assert run(state, now=at(12, 19, 59)) == []
    (alert,) = run(state, now=at(12, 20))
    assert alert.expected_at == at(12)


def test_a_backup_created_slightly_early_counts_for_the_run() -> None:
    on_the_edge = addon_state(schedules=(EVERY_HOUR,), last_created_at=at(10, 50))
    assert run(destination(addons=[on_the_edge])) == []
    too_early = addon_state(schedules=(EVERY_HOUR,), last_created_at=at(10, 49, 59))
    assert summary(run(destination(addons=[too_early]))) == [
        (Event.MISSED, missed_subject(ADDON.id, at(11)))
    ]


def test_a_late_run_is_not_missed() -> None:
    state = destination(addons=[addon_state(schedules=(EVERY_HOUR,), last_created_at=at(11, 15))])
    assert run(state) == []


def test_a_failed_run_is_not_also_missed() -> None:
    # last_created_at counts a backup of any status: the run happened, it failed.
    failed = backup("b-1", BackupStatus.FAILED, created_at=at(11))
    state = destination(
        [known(failed, since=at(11, 3))],
        [addon_state(schedules=(EVERY_HOUR,), last_created_at=at(11))],
    )
    assert summary(run(state)) == [(Event.FAILED, "b-1")]


def test_a_run_missed_before_the_watch_began_is_alerted_as_it_starts() -> None:
    # Missed is a present condition, like stuck: the 11:00 run has no backup, whenever
    # the watch began; a channel watching from 11:30 hears of it at once.
    state = destination(addons=[addon_state(schedules=(EVERY_HOUR,), last_created_at=at(-5))])
    (alert,) = run(state, watch(started_at=at(11, 30)))
    assert (alert.event, alert.expected_at) == (Event.MISSED, at(11))


def test_only_the_latest_missed_run_is_alerted_the_earlier_ones_are_history() -> None:
    # Backups stopped three days ago: one alert, for the latest run, and nothing for
    # the seventy-odd runs before it.
    state = destination(addons=[addon_state(schedules=(EVERY_HOUR,), last_created_at=at(-72))])
    alerts = run(state, watch(started_at=at(11, 50)))
    assert summary(alerts) == [(Event.MISSED, missed_subject(ADDON.id, at(11)))]


def test_a_run_missed_before_the_bot_first_saw_the_addon_is_missed_too() -> None:
    # First seen at 11:30, its newest backup from 09:00: the 11:00 run did not happen,
    # and the backups themselves say so.
    new = addon_state(schedules=(EVERY_HOUR,), first_seen_at=at(11, 30), last_created_at=at(9))
    (alert,) = run(destination(addons=[new]))
    assert alert.expected_at == at(11)


def test_an_addon_without_schedules_is_never_missed() -> None:
    state = destination(addons=[addon_state(last_created_at=at(-48))])
    assert run(state) == []


def test_each_schedule_is_judged_with_its_own_grace() -> None:
    # Daily at 12:05 is still within its hour of grace at 12:30, while the hourly
    # 12:00 run's 20 minutes have passed. The 11:52 backup is the 12:00 run.
    daily = Schedule(ScheduleInterval.DAILY, minutes=(5,), hours=(12,))
    state = destination(
        addons=[addon_state(schedules=(EVERY_HOUR, daily), last_created_at=at(11, 52))]
    )
    assert run(state, now=at(12, 30)) == []
    # At 13:05 the daily run's grace has passed too, and nothing came.
    (alert,) = run(state, now=at(13, 5))
    assert (alert.expected_at, alert.schedule) == (at(12, 5), daily)


def test_the_latest_due_run_over_several_schedules_is_the_one_checked() -> None:
    daily = Schedule(ScheduleInterval.DAILY, minutes=(0,), hours=(6,))
    weekly = Schedule(ScheduleInterval.WEEKLY, minutes=(0,), hours=(9,), days=(2,))  # Wednesday
    state = destination(addons=[addon_state(schedules=(daily, weekly), last_created_at=at(6))])
    (alert,) = run(state)
    assert (alert.expected_at, alert.schedule) == (at(9), weekly)


def test_a_missed_run_already_alerted_or_not_watched_is_quiet() -> None:
    state = destination(addons=[addon_state(schedules=(EVERY_HOUR,), last_created_at=at(9))])
    raised = ledger(raised=[(Event.MISSED, missed_subject(ADDON.id, at(11)))])
    assert run(state, the_ledger=raised) == []
    assert run(state, watch(events=[Event.FAILED])) == []


# ----- recovered ---------------------------------------------------------------------------


def test_a_good_backup_after_a_failure_is_a_recovery() -> None:
    good = backup("b-good", created_at=at(10), completed_at=at(10, 7))
    state = destination(addons=[addon_state(latest_completed=good)])
    (alert,) = run(state, the_ledger=ledger(entry(4, Event.FAILED, "b-bad", at(9))))
    assert (alert.event, alert.subject, alert.resolves) == (Event.RECOVERED, "b-good", (4,))
    assert alert.occurred_at == at(10, 7)
    assert (alert.backup, alert.addon, alert.project) == (good, ADDON, PROJECT)


def test_a_recovery_without_a_completion_time_uses_the_creation_time() -> None:
    good = backup("b-good", created_at=at(10))
    state = destination(addons=[addon_state(latest_completed=good)])
    (alert,) = run(state, the_ledger=ledger(entry(4, Event.FAILED, "b-bad", at(9))))
    assert alert.occurred_at == at(10)


def test_one_recovery_per_addon_resolves_all_its_open_problems() -> None:
    good = backup("b-good", created_at=at(10), completed_at=at(10, 5))
    other_good = backup("b-other", created_at=at(11), addon=OTHER_ADDON)
    open_problems = ledger(
        entry(7, Event.MISSED, missed_subject(ADDON.id, at(8)), at(8)),
        entry(3, Event.FAILED, "b-bad", at(9)),
        entry(5, Event.ABORTED, "b-x", at(9), addon_id=OTHER_ADDON.id),
    )
    state = destination(
        addons=[
            addon_state(latest_completed=good),
            addon_state(addon=OTHER_ADDON, latest_completed=other_good),
        ]
    )
    alerts = run(state, the_ledger=open_problems)
    assert [(a.subject, a.resolves) for a in alerts] == [("b-good", (3, 7)), ("b-other", (5,))]


def test_a_stuck_backup_that_completes_resolves_its_own_alert() -> None:
    finally_done = backup("b-5", created_at=at(2), completed_at=at(11, 30))
    state = destination(addons=[addon_state(latest_completed=finally_done)])
    (alert,) = run(state, the_ledger=ledger(entry(6, Event.STUCK, "b-5", at(2))))
    assert (alert.event, alert.subject, alert.resolves) == (Event.RECOVERED, "b-5", (6,))


def test_a_good_backup_older_than_the_problem_is_no_recovery() -> None:
    good = backup("b-good", created_at=at(8), completed_at=at(8, 30))
    state = destination(addons=[addon_state(latest_completed=good)])
    assert run(state, the_ledger=ledger(entry(4, Event.FAILED, "b-bad", at(9)))) == []


def test_no_recovery_without_a_completed_backup_or_an_addon_summary() -> None:
    open_problem = ledger(entry(4, Event.FAILED, "b-bad", at(9)))
    assert run(destination(addons=[addon_state()]), the_ledger=open_problem) == []
    assert run(destination(), the_ledger=open_problem) == []


def test_no_recovery_when_the_newest_thing_is_a_new_failure() -> None:
    good = backup("b-good", created_at=at(10), completed_at=at(10, 5))
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(11))
    state = destination([known(failed, since=at(11, 2))], [addon_state(latest_completed=good)])
    missed = entry(4, Event.MISSED, missed_subject(ADDON.id, at(9)), at(9))
    assert summary(run(state, the_ledger=ledger(missed))) == [(Event.FAILED, "b-bad")]


def test_a_newer_failure_blocks_recovery_even_where_failures_are_not_watched() -> None:
    good = backup("b-good", created_at=at(10), completed_at=at(10, 5))
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(11))
    state = destination([known(failed, since=at(11, 2))], [addon_state(latest_completed=good)])
    missed = entry(4, Event.MISSED, missed_subject(ADDON.id, at(9)), at(9))
    assert run(state, watch(events=[Event.MISSED]), ledger(missed)) == []


def test_a_newer_failure_already_alerted_blocks_recovery_too() -> None:
    good = backup("b-good", created_at=at(10), completed_at=at(10, 5))
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(11))
    state = destination([known(failed, since=at(11, 2))], [addon_state(latest_completed=good)])
    open_problems = ledger(
        entry(4, Event.MISSED, missed_subject(ADDON.id, at(9)), at(9)),
        entry(5, Event.FAILED, "b-bad", at(11, 2)),
    )
    assert run(state, the_ledger=open_problems) == []


def test_a_failure_and_its_retry_seen_by_one_poll_are_raised_and_resolved_together() -> None:
    # The failure was seen in the same poll as the retry started right after it.
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(9))
    good = backup("b-good", created_at=at(9, 5), completed_at=at(9, 40))
    state = destination([known(failed, since=at(10))], [addon_state(latest_completed=good)])
    missed = entry(4, Event.MISSED, missed_subject(ADDON.id, at(8)), at(8))
    alerts = run(state, the_ledger=ledger(missed))
    assert summary(alerts) == [(Event.RECOVERED, "b-good"), (Event.FAILED, "b-bad")]
    recovery = alerts[0]
    assert recovery.resolves == (4,)
    assert recovery.resolves_raised == ((Event.FAILED, "b-bad"),)


def test_a_recovery_already_raised_is_not_raised_again() -> None:
    good = backup("b-good", created_at=at(10))
    failed = backup("b-bad", BackupStatus.FAILED, created_at=at(9))
    # The failure was alerted and then resolved by b-good: nothing is open any more.
    state = destination([known(failed, since=at(9, 30))], [addon_state(latest_completed=good)])
    the_ledger = ledger(raised=[(Event.FAILED, "b-bad"), (Event.RECOVERED, "b-good")])
    assert run(state, the_ledger=the_ledger) == []


def test_a_problem_seen_after_its_good_backup_recovered_others_is_resolved_too() -> None:
    # A long run created at 09:00 gives up at 11:00, after b-good (10:00) had already
    # recovered the addon's earlier problems: b-good recovers it as well, in a
    # recovery of its own, so that it is not left open until the next good backup.
    good = backup("b-good", created_at=at(10), completed_at=at(10, 5))
    late = backup("b-late", BackupStatus.FAILED, created_at=at(9))
    state = destination([known(late, since=at(11))], [addon_state(latest_completed=good)])
    the_ledger = ledger(raised=[(Event.RECOVERED, "b-good")])
    alerts = run(state, the_ledger=the_ledger)
    assert summary(alerts) == [(Event.RECOVERED, "b-good:b-late"), (Event.FAILED, "b-late")]
    assert alerts[0].resolves_raised == ((Event.FAILED, "b-late"),)


def test_a_channel_watching_no_problems_hears_no_recovery() -> None:
    good = backup("b-good", created_at=at(10))
    state = destination(addons=[addon_state(latest_completed=good)])
    open_problem = ledger(entry(4, Event.FAILED, "b-bad", at(9)))
    assert run(state, watch(events=[Event.EXPIRING]), open_problem) == []


def test_northflank_problems_and_addonless_entries_need_no_addon_recovery() -> None:
    good = backup("b-good", created_at=at(10))
    state = destination(addons=[addon_state(latest_completed=good)])
    the_ledger = ledger(
        entry(1, Event.NORTHFLANK_PROBLEM, outage_subject(at(8)), at(8), addon_id=None),
        entry(2, Event.FAILED, "b-orphan", at(8), addon_id=None),
    )
    assert run(state, the_ledger=the_ledger) == []


def test_only_problem_events_are_resolved_by_a_recovery() -> None:
    # An expiry warning is not a problem a good backup fixes, even if one were left open.
    good = backup("b-good", created_at=at(10))
    state = destination(addons=[addon_state(latest_completed=good)])
    the_ledger = ledger(
        entry(1, Event.EXPIRING, "b-old", at(8)), entry(2, Event.FAILED, "b-bad", at(9))
    )
    (alert,) = run(state, the_ledger=the_ledger)
    assert alert.resolves == (2,)


# ----- ordering ----------------------------------------------------------------------------


def test_alerts_come_out_by_time_then_subject() -> None:
    state = destination(
        [
            known(backup("b-late", BackupStatus.FAILED, created_at=at(11)), since=at(11, 30)),
            known(backup("b-z", BackupStatus.FAILED, created_at=at(9)), since=at(10)),
            known(backup("b-a", BackupStatus.ABORTED, created_at=at(9)), since=at(10)),
            known(backup("b-hung", BackupStatus.IN_PROGRESS, created_at=at(1))),
        ]
    )
    assert summary(run(state)) == [
        (Event.STUCK, "b-hung"),
        (Event.ABORTED, "b-a"),
        (Event.FAILED, "b-z"),
        (Event.FAILED, "b-late"),
    ]


def test_nothing_known_raises_nothing() -> None:
    assert run(destination()) == []


# ----- Northflank health -------------------------------------------------------------------


OUTAGE_START = at(11)


def health(
    failures: int,
    *,
    failing_since: datetime | None = OUTAGE_START,
    the_ledger: Ledger | None = None,
    the_watch: Watch | None = None,
) -> list[Alert]:
    return northflank_health(
        the_watch or watch(),
        the_ledger or Ledger(),
        consecutive_failures=failures,
        failing_since=failing_since,
        problem="the token was revoked",
        now=NOW,
    )


@pytest.mark.parametrize("failures", range(1, PROBLEM_AFTER_FAILED_POLLS))
def test_a_few_failed_polls_stay_quiet_and_resolve_nothing(failures: int) -> None:
    open_outage = ledger(
        entry(8, Event.NORTHFLANK_PROBLEM, outage_subject(at(9)), at(9), addon_id=None)
    )
    assert health(failures, the_ledger=open_outage) == []


@pytest.mark.parametrize("failures", [PROBLEM_AFTER_FAILED_POLLS, PROBLEM_AFTER_FAILED_POLLS + 5])
def test_enough_failed_polls_raise_a_northflank_problem(failures: int) -> None:
    (alert,) = health(failures)
    assert (alert.event, alert.subject) == (Event.NORTHFLANK_PROBLEM, outage_subject(OUTAGE_START))
    assert alert.occurred_at == OUTAGE_START
    assert alert.problem == "the token was revoked"
    assert alert.destination_id == DESTINATION


def test_a_northflank_problem_is_raised_whatever_events_the_channel_chose() -> None:
    assert len(health(PROBLEM_AFTER_FAILED_POLLS, the_watch=watch(events=[Event.EXPIRING]))) == 1


def test_a_northflank_problem_already_raised_is_not_raised_again() -> None:
    raised = ledger(raised=[(Event.NORTHFLANK_PROBLEM, outage_subject(OUTAGE_START))])
    assert health(PROBLEM_AFTER_FAILED_POLLS + 1, the_ledger=raised) == []


def test_failed_polls_without_a_start_time_raise_nothing() -> None:
    assert health(PROBLEM_AFTER_FAILED_POLLS, failing_since=None) == []


def test_a_good_poll_resolves_every_open_outage() -> None:
    the_ledger = ledger(
        entry(8, Event.NORTHFLANK_PROBLEM, outage_subject(at(9)), at(9), addon_id=None),
        entry(2, Event.NORTHFLANK_PROBLEM, outage_subject(at(3)), at(3), addon_id=None),
        entry(5, Event.FAILED, "b-bad", at(4)),
    )
    alerts = health(0, failing_since=None, the_ledger=the_ledger)
    assert [(a.event, a.subject, a.resolves) for a in alerts] == [
        (Event.NORTHFLANK_RECOVERED, outage_subject(at(3)), (2,)),
        (Event.NORTHFLANK_RECOVERED, outage_subject(at(9)), (8,)),
    ]
    assert all(a.occurred_at == NOW and a.destination_id == DESTINATION for a in alerts)


def test_an_outage_recovery_already_raised_is_not_raised_again() -> None:
    subject = outage_subject(at(9))
    the_ledger = ledger(
        entry(8, Event.NORTHFLANK_PROBLEM, subject, at(9), addon_id=None),
        raised=[(Event.NORTHFLANK_RECOVERED, subject)],
    )
    assert health(0, failing_since=None, the_ledger=the_ledger) == []


def test_a_good_poll_with_no_open_outage_says_nothing() -> None:
    assert health(0, failing_since=None) == []


def test_an_open_missed_alert_keeps_later_missed_runs_of_that_addon_quiet() -> None:
    state = destination(addons=[addon_state(schedules=(EVERY_HOUR,), last_created_at=at(9, 1))])
    assert summary(run(state)) == [(Event.MISSED, missed_subject(ADDON.id, at(11)))]
    # The 10:00 run was already alerted and nothing has been backed up since.
    still_open = entry(3, Event.MISSED, missed_subject(ADDON.id, at(10)), at(10))
    assert run(state, the_ledger=ledger(still_open)) == []
    # Another addon's open alert does not silence this one.
    other = entry(3, Event.MISSED, missed_subject(OTHER_ADDON.id, at(10)), at(10), OTHER_ADDON.id)
    assert summary(run(state, the_ledger=ledger(other))) == [
        (Event.MISSED, missed_subject(ADDON.id, at(11)))
    ]


def test_the_store_looks_ahead_only_as_far_as_a_watch_of_expiring_asks() -> None:
    without_expiring = [e for e in WATCHABLE_EVENTS if e is not Event.EXPIRING]
    assert expiry_horizon([]) == timedelta(0)
    assert expiry_horizon([watch(events=without_expiring, expiry=timedelta(days=9))]) == (
        timedelta(0)
    )
    assert expiry_horizon(
        [
            watch(expiry=timedelta(days=2)),
            watch(events=without_expiring, expiry=timedelta(days=9)),
            watch(expiry=timedelta(days=5)),
        ]
    ) == timedelta(days=5)
