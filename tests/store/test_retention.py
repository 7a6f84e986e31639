"""Retention in the store: what each purge deletes, and what it must keep. Both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.audit import AuditAction, AuditOutcome
from bot.core.handling import Snooze
from bot.core.watches import Event
from bot.store import OutboxState, Store
from bot.store.retention import BATCH
from tests.store.examples import (
    DAY,
    T0,
    alert,
    audit_entry,
    backup,
    digest,
    posted,
    recovery,
    replica_stores,
    watching,
)

LONG_AGO = T0 - 200 * DAY
CUTOFF = T0 - 90 * DAY


async def test_delivered_and_abandoned_messages_go_unsent_ones_stay(store: Store) -> None:
    watch = await watching(store, now=LONG_AGO)
    delivered = await store.record_alerts([digest(watch, alert(Event.FAILED, "a"))], LONG_AGO)
    await store.mark_delivered(delivered.outbox_ids[0], now=LONG_AGO)
    failed = await store.record_alerts([digest(watch, alert(Event.FAILED, "b"))], LONG_AGO)
    await store.give_up(failed.outbox_ids[0], reason="Slack refused it", now=LONG_AGO)
    pending = await store.record_alerts([digest(watch, alert(Event.FAILED, "c"))], LONG_AGO)
    recent = await store.record_alerts([digest(watch, alert(Event.FAILED, "d"))], T0)
    await store.mark_delivered(recent.outbox_ids[0], now=T0)

    assert await store.purge_outbox(CUTOFF) == 2
    left = {item.id: item.state for item in await store.outbox_items()}
    assert left == {
        pending.outbox_ids[0]: OutboxState.PENDING.value,
        recent.outbox_ids[0]: OutboxState.DELIVERED.value,
    }
    assert await store.purge_outbox(CUTOFF) == 0


async def test_old_alerts_go_unless_open_still_listed_or_awaited(store: Store) -> None:
    watch = await watching(store, now=LONG_AGO)
    # Resolved long ago, its backup gone from Northflank: deleted, its recovery too.
    problem, _ = await posted(
        store, watch, alert(Event.FAILED, "gone"), alert(Event.FAILED, "open"), now=LONG_AGO
    )
    fix = alert(Event.RECOVERED, "gone-fix", occurred_at=LONG_AGO, resolves=(problem.id,))
    fixed = await store.record_alerts([recovery(watch, fix)], LONG_AGO)
    # Resolved long ago, but Northflank still lists the backup: its dedup key stays.
    listed = await store.record_alerts([digest(watch, alert(Event.FAILED, "listed"))], LONG_AGO)
    await store.save_backups(watch.destination_id, [backup("listed", "failed")], LONG_AGO)
    listed_fix = alert(
        Event.RECOVERED, "listed-fix", occurred_at=LONG_AGO, resolves=tuple(listed.alert_ids)
    )
    await store.record_alerts([recovery(watch, listed_fix)], LONG_AGO)
    # An action pressed on the purged problem goes with it.
    await store.claim_write(problem.id, "retain", user_id="U1", now=LONG_AGO, stale_after=DAY)
    for item in await store.outbox_items(states=[OutboxState.PENDING.value]):
        await store.mark_delivered(item.id, now=LONG_AGO)

    deleted = await store.purge_alerts(CUTOFF)

    kept = {s.alert.subject for s in await store.alerts(range(1, 1000))}
    # "open" is an unresolved problem; "listed" is still listed; "listed-fix" resolved it
    # and is an old recovery of a backup no longer known: it goes.
    assert kept == {"open", "listed"}
    assert deleted == 3
    assert (await store.alerts(fixed.alert_ids)) == []


async def test_an_old_alert_a_pending_message_threads_under_stays(store: Store) -> None:
    watch = await watching(store, now=LONG_AGO)
    (problem,) = await posted(store, watch, alert(Event.FAILED, "x"), now=LONG_AGO)
    fix = alert(Event.RECOVERED, "x-fix", occurred_at=LONG_AGO, resolves=(problem.id,))
    await store.record_alerts([recovery(watch, fix)], LONG_AGO)  # its thread reply is pending
    assert await store.purge_alerts(CUTOFF) == 1  # the recovery itself goes, not its parent
    assert [s.alert.subject for s in await store.alerts([problem.id])] == ["x"]


async def test_backups_that_expired_long_ago_go_the_others_stay(store: Store) -> None:
    kept = [
        backup("fresh", expires_at=T0 + DAY),
        backup("no-expiry"),
        backup("expired-recently", expires_at=T0 - 10 * DAY),
    ]
    gone = [backup(f"ancient-{i}", expires_at=LONG_AGO) for i in range(BATCH + 3)]
    await store.save_backups("dest-primary", [*kept, *gone], LONG_AGO)
    assert await store.purge_expired_backups(CUTOFF) == BATCH
    assert await store.purge_expired_backups(CUTOFF) == 3
    assert await store.purge_expired_backups(CUTOFF) == 0
    known = await store.known_statuses("dest-primary", [b.id for b in [*kept, *gone]])
    assert set(known) == {"fresh", "no-expiry", "expired-recently"}


async def test_the_audit_trail_and_ended_snoozes_go_once_old(store: Store) -> None:
    await store.record_audit(audit_entry(AuditAction.WATCH, at=T0 - 400 * DAY))
    await store.record_audit(audit_entry(AuditAction.MUTE, at=T0 - 30 * DAY))
    await store.record_audit(
        audit_entry(AuditAction.RETAIN, at=T0 - 500 * DAY, outcome=AuditOutcome.REFUSED)
    )
    assert await store.purge_audit(T0 - 365 * DAY) == 2
    assert [e.action for e in await store.audit_entries("C-ops")] == [AuditAction.MUTE]

    watch = await watching(store, now=LONG_AGO)
    (stored,) = await posted(store, watch, alert(Event.FAILED, "s"), now=LONG_AGO)
    for until in (LONG_AGO + DAY, T0 + DAY):
        snooze = Snooze(
            "C-ops", watch.destination_id, f"addon-{until.day}", Event.FAILED, until, "U1", LONG_AGO
        )
        await store.snooze(
            snooze, alert_id=stored.id, now=LONG_AGO, audit=audit_entry(AuditAction.SNOOZE)
        )
    assert await store.purge_snoozes(CUTOFF) == 1
    assert [s.until for s in await store.active_snoozes("C-ops", T0)] == [T0 + DAY]


async def test_a_job_runs_once_an_interval_however_many_replicas_ask(
    database_url: str, store: Store
) -> None:
    every, hold = timedelta(hours=1), timedelta(minutes=90)

    async def claim(on: Store, owner: str, minutes: int) -> bool:
        now = T0 + timedelta(minutes=minutes)
        return await on.claim_job("retention", owner=owner, now=now, every=every, hold=hold)

    async with replica_stores(database_url, 3) as stores:
        claims = await asyncio.gather(*(claim(s, f"r{i}", 0) for i, s in enumerate(stores)))
    assert sorted(claims) == [False, False, True]
    await store.finish_job("retention", owner=f"r{claims.index(True)}")
    # Finished, but not due again until an interval after it began.
    assert not await claim(store, "r9", 30)
    assert await claim(store, "r9", 60)
    # r9 dies without finishing: due again at 120, but held until 150.
    assert not await claim(store, "r8", 120)
    assert await claim(store, "r8", 150)
