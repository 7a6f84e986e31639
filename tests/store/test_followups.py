"""After an alert is raised: snoozed ones stay quiet, quiet hours hold and release, reminders.

On both databases; the race tests open one Store per replica on the same
database, as separate processes would.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta

from bot.core.audit import AuditAction
from bot.core.quiet_hours import QuietHours
from bot.core.watches import DEFAULT_REMIND, Event, Watch, WatchSettings, WatchState
from bot.store import ChannelAlerts, OutboxItem, OutboxKind, OutboxState, Store, StoredAlert
from tests.store.examples import (
    DAY,
    HOUR,
    PRIMARY,
    SECONDARY,
    T0,
    alert,
    audit_entry,
    digest,
    posted,
    replica_stores,
    watching,
)

MINUTE = HOUR / 60
NIGHT = QuietHours(start=time(22), end=time(7), timezone="Europe/Berlin")
# When NIGHT's window that holds the alerts below ends (any moment after T0 will do).
MORNING = T0 + 8 * HOUR


async def _pending(store: Store) -> list[OutboxItem]:
    return await store.outbox_items(states=[OutboxState.PENDING])


# ----- snoozed alerts -------------------------------------------------------------------


async def test_a_silenced_alert_is_recorded_but_never_posted(store: Store) -> None:
    watch = await watching(store)
    snoozed = alert(Event.FAILED, "b1")
    result = await store.record_alerts(
        [ChannelAlerts(watch=watch, digests=[], recoveries=[], deliver=True, silenced=[snoozed])],
        T0,
    )

    (alert_id,) = result.alert_ids
    assert result.outbox_ids == []
    assert await store.outbox_items() == []
    (stored,) = await store.alerts([alert_id])
    assert (stored.alert, stored.held_until, stored.message_ts) == (snoozed, None, None)
    # In the ledger, so once the snooze ends the same failure is not raised late.
    again = await store.record_alerts([digest(watch, snoozed)], T0 + DAY)
    assert (again.alert_ids, again.outbox_ids) == ([], [])
    assert await store.outbox_items() == []


# ----- quiet hours: holding -------------------------------------------------------------


async def _a_posted_failure(store: Store, watch: Watch) -> StoredAlert:
    (failure,) = await posted(store, watch, alert(Event.FAILED, "b0", occurred_at=T0 - DAY))
    return failure


async def _hold(
    store: Store, watch: Watch, *, until: datetime = MORNING, resolving: int | None = None
) -> tuple[list[int], int | None]:
    """Two failures held in one digest and, with `resolving`, a recovery; their ledger ids."""
    recoveries = []
    if resolving is not None:
        recoveries = [alert(Event.RECOVERED, "b3", resolves=(resolving,))]
    batch = ChannelAlerts(
        watch=watch,
        digests=[[alert(Event.FAILED, "b1"), alert(Event.FAILED, "b2")]],
        recoveries=recoveries,
        deliver=True,
        hold_until=until,
    )
    result = await store.record_alerts([batch], T0)
    if resolving is None:
        return result.alert_ids, None
    *failures, recovery_id = result.alert_ids
    return failures, recovery_id


async def test_alerts_in_quiet_hours_are_recorded_held_and_not_posted(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    failure = await _a_posted_failure(store, watch)

    failures, recovery_id = await _hold(store, watch, resolving=failure.id)

    assert recovery_id is not None
    held = await store.alerts([*failures, recovery_id])
    assert [(s.alert.subject, s.held_until) for s in held] == [
        ("b1", MORNING),
        ("b2", MORNING),
        ("b3", MORNING),
    ]
    # Nothing is posted or threaded; the resolved message is still edited (an
    # edit notifies nobody, and must not go on saying there is a problem).
    assert [(i.kind, i.alert_ids) for i in await _pending(store)] == [
        (OutboxKind.UPDATE, (failure.id,))
    ]
    (resolved,) = await store.alerts([failure.id])
    assert resolved.resolved_at == T0


async def test_held_alerts_fall_due_when_their_hold_ends(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    assert await store.next_release_at() is None
    failures, _ = await _hold(store, watch)

    assert await store.next_release_at() == MORNING
    assert await store.held_alerts_due(MORNING - timedelta(seconds=1)) == []
    due = await store.held_alerts_due(MORNING)
    assert [s.id for s in due] == failures
    assert {s.held_until for s in due} == {MORNING}


# ----- quiet hours: releasing -----------------------------------------------------------


async def test_releasing_posts_each_digest_and_threads_each_recovery(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    failure = await _a_posted_failure(store, watch)
    failures, recovery_id = await _hold(store, watch, resolving=failure.id)
    assert recovery_id is not None
    before = {i.id for i in await store.outbox_items()}

    outbox = await store.release_held("C-ops", [failures], [(recovery_id, failure.id)], now=MORNING)

    released = [i for i in await store.outbox_items() if i.id not in before]
    assert [i.id for i in released] == outbox
    assert [(i.channel, i.kind, i.alert_ids, i.parent_alert_id) for i in released] == [
        ("C-ops", OutboxKind.POST, tuple(failures), None),
        ("C-ops", OutboxKind.THREAD_REPLY, (recovery_id,), failure.id),
    ]
    assert {i.next_attempt_at for i in released} == {MORNING}
    assert {s.held_until for s in await store.alerts([*failures, recovery_id])} == {None}
    assert await store.held_alerts_due(MORNING + DAY) == []
    assert await store.next_release_at() is None


async def test_releasing_the_same_alerts_again_posts_nothing(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    failures, _ = await _hold(store, watch)
    await store.release_held("C-ops", [failures], [], now=MORNING)
    before = await store.outbox_items()

    assert await store.release_held("C-ops", [failures], [], now=MORNING + MINUTE) == []
    assert await store.outbox_items() == before


async def test_a_release_posts_only_what_it_takes_out_of_hold(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    first, second = (await _hold(store, watch))[0]
    await store.release_held("C-ops", [[first]], [], now=MORNING)

    (outbox_id,) = await store.release_held("C-ops", [[first, second]], [], now=MORNING)

    (item,) = [i for i in await store.outbox_items() if i.id == outbox_id]
    assert (item.kind, item.alert_ids) == (OutboxKind.POST, (second,))


async def test_replicas_releasing_at_once_post_once(database_url: str, store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    failure = await _a_posted_failure(store, watch)
    failures, recovery_id = await _hold(store, watch, resolving=failure.id)
    assert recovery_id is not None
    before = len(await store.outbox_items())

    async with replica_stores(database_url, 4) as stores:
        results = await asyncio.gather(
            *(
                s.release_held("C-ops", [failures], [(recovery_id, failure.id)], now=MORNING)
                for s in stores
            )
        )

    assert sorted(len(r) for r in results) == [0, 0, 0, 2]
    released = (await store.outbox_items())[before:]
    assert [(i.kind, i.alert_ids) for i in released] == [
        (OutboxKind.POST, tuple(failures)),
        (OutboxKind.THREAD_REPLY, (recovery_id,)),
    ]


# ----- reminders ------------------------------------------------------------------------


async def test_reminder_candidates_are_posted_open_unacknowledged_problems(
    store: Store,
) -> None:
    watch = await watching(store)
    reminded = [
        alert(Event.FAILED, "failed"),
        alert(Event.STUCK, "stuck"),
        alert(Event.MISSED, "missed:addon-db:2025-03-01T03:00:00+00:00"),
    ]
    not_reminded = [
        alert(Event.EXPIRING, "expiring"),
        alert(Event.ABORTED, "aborted"),
        alert(Event.FAILED, "acknowledged"),
        alert(Event.FAILED, "resolved"),
    ]
    stored = await posted(store, watch, *reminded, *not_reminded)
    by_subject = {s.alert.subject: s for s in stored}
    await store.acknowledge(
        by_subject["acknowledged"].id,
        user_id="U-bob",
        now=T0,
        audit=audit_entry(AuditAction.ACKNOWLEDGE),
    )
    fix = alert(Event.RECOVERED, "fix", resolves=(by_subject["resolved"].id,))
    await store.record_alerts(
        [ChannelAlerts(watch=watch, digests=[], recoveries=[fix], deliver=True)], T0
    )
    # Recorded but never posted (muted), and held for quiet hours.
    await store.record_alerts([digest(watch, alert(Event.FAILED, "muted"), deliver=False)], T0)
    await _hold(store, watch)

    candidates = await store.reminder_candidates()

    assert [c.stored.alert.subject for c in candidates] == [a.subject for a in reminded]
    assert {c.watch for c in candidates} == {watch}
    assert {c.stored.last_notified_at for c in candidates} == {T0}


async def test_watches_that_do_not_remind_have_no_candidates(store: Store) -> None:
    silent = await watching(store, "C-silent", settings=WatchSettings(remind=None))
    broken = await watching(store, "C-broken", SECONDARY)
    await posted(store, silent, alert(Event.FAILED, "b1"))
    await posted(store, broken, alert(Event.FAILED, "b1", destination=SECONDARY))
    await store.set_channel_state("C-broken", WatchState.BROKEN, "cannot post")

    assert await store.reminder_candidates() == []


async def test_an_unwatched_destinations_alerts_are_not_reminded(store: Store) -> None:
    watch = await watching(store)
    await posted(store, watch, alert(Event.FAILED, "b1"))
    await store.remove_watch("C-ops", PRIMARY.id)
    assert await store.reminder_candidates() == []


async def test_delivery_starts_the_reminder_clock_of_the_alerts_it_carried(
    store: Store,
) -> None:
    watch = await watching(store)
    result = await store.record_alerts(
        [digest(watch, alert(Event.FAILED, "b1"), alert(Event.FAILED, "b2"))], T0
    )
    (post,) = result.outbox_ids
    # A real clock's moment, microseconds and all: record_reminder compares it exactly.
    delivered_at = T0 + timedelta(minutes=5, microseconds=123456)
    await store.mark_delivered(
        post, now=delivered_at, message_ts="1700.01", alert_ids=result.alert_ids[:1]
    )
    first, second = await store.alerts(result.alert_ids)
    assert (first.last_notified_at, second.last_notified_at) == (delivered_at, None)


async def test_a_reminder_moves_the_clock_and_replies_in_the_first_alerts_thread(
    store: Store,
) -> None:
    watch = await watching(store)
    delivered_at = T0 + timedelta(microseconds=654321)
    first, second = await posted(
        store, watch, alert(Event.FAILED, "b1"), alert(Event.STUCK, "b2"), now=delivered_at
    )
    seen = [c.stored for c in await store.reminder_candidates()]
    assert seen == [first, second]
    note = {"text": "Still failing: b1, b2", "blocks": []}

    assert await store.record_reminder("C-ops", seen, note, now=T0 + DAY)

    (reminder,) = await _pending(store)
    assert (reminder.channel, reminder.kind, reminder.alert_ids, reminder.parent_alert_id) == (
        "C-ops",
        OutboxKind.NOTE,
        (),
        first.id,
    )
    assert reminder.payload == note
    assert {s.last_notified_at for s in await store.alerts([first.id, second.id])} == {T0 + DAY}

    # Another replica working from the same, now stale, candidates.
    assert not await store.record_reminder("C-ops", seen, note, now=T0 + DAY + MINUTE)
    assert await _pending(store) == [reminder]
    assert {s.last_notified_at for s in await store.alerts([first.id, second.id])} == {T0 + DAY}


async def test_replicas_reminding_at_once_queue_one_reminder(
    database_url: str, store: Store
) -> None:
    watch = await watching(store)
    await posted(store, watch, alert(Event.FAILED, "b1"), alert(Event.FAILED, "b2"))
    seen = [c.stored for c in await store.reminder_candidates()]

    async with replica_stores(database_url, 4) as stores:
        sent = await asyncio.gather(
            *(s.record_reminder("C-ops", seen, {"text": "again"}, now=T0 + DAY) for s in stores)
        )

    assert sorted(sent) == [False, False, False, True]
    assert [i.kind for i in await _pending(store)] == [OutboxKind.NOTE]


# ----- the watch settings behind them ---------------------------------------------------


async def test_remind_and_quiet_hours_round_trip(store: Store) -> None:
    settings = WatchSettings(remind=4 * HOUR, quiet=NIGHT)
    saved = await watching(store, settings=settings)
    assert saved.settings == settings
    read = await store.watch("C-ops", PRIMARY.id)
    assert read is not None and read.settings == settings

    default = await watching(store, "C-dba")
    assert (default.settings.remind, default.settings.quiet) == (DEFAULT_REMIND, None)


async def test_remind_off_is_stored_as_no_reminders(store: Store) -> None:
    await watching(store, settings=WatchSettings(remind=None, quiet=NIGHT))
    read = await store.watch("C-ops", PRIMARY.id)
    assert read is not None and read.settings.remind is None
    # Zero seconds is the same thing: never.
    await watching(store, settings=WatchSettings(remind=timedelta(0)))
    read = await store.watch("C-ops", PRIMARY.id)
    assert read is not None and (read.settings.remind, read.settings.quiet) == (None, None)


async def test_new_quiet_hours_release_what_the_old_ones_held_now(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    failures, _ = await _hold(store, watch)
    later = T0 + HOUR

    shorter = QuietHours(start=time(23), end=time(6), timezone="Europe/Berlin")
    await watching(store, settings=WatchSettings(quiet=shorter), now=later)

    assert {s.held_until for s in await store.alerts(failures)} == {later}
    assert [s.id for s in await store.held_alerts_due(later)] == failures


async def test_removing_quiet_hours_releases_what_they_held_now(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    failures, _ = await _hold(store, watch)
    await watching(store, settings=WatchSettings(quiet=None), now=T0 + HOUR)
    assert {s.held_until for s in await store.alerts(failures)} == {T0 + HOUR}


async def test_saving_the_same_quiet_hours_keeps_the_hold(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    failures, _ = await _hold(store, watch)
    await watching(store, settings=WatchSettings(quiet=NIGHT, remind=HOUR), now=T0 + HOUR)
    assert {s.held_until for s in await store.alerts(failures)} == {MORNING}


async def test_unwatching_drops_the_alerts_it_held(store: Store) -> None:
    watch = await watching(store, settings=WatchSettings(quiet=NIGHT))
    other = await watching(store, "C-dba", settings=WatchSettings(quiet=NIGHT))
    failures, _ = await _hold(store, watch)
    theirs, _ = await _hold(store, other)

    await store.remove_watch("C-ops", PRIMARY.id)

    assert {s.held_until for s in await store.alerts(failures)} == {None}
    assert [s.id for s in await store.held_alerts_due(MORNING)] == theirs
    assert await store.outbox_items() == []
