"""What reports read from the store, and the weekly report's claim, on both databases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.core.messages import WeeklyReportNote, note_from_json, note_to_json
from bot.core.tenancy import SINGLE
from bot.core.watches import Event
from bot.store import OutboxKind, Store
from tests.store.examples import (
    DAY,
    HOUR,
    PRIMARY,
    SECONDARY,
    T0,
    alert,
    backup,
    digest,
    replica_stores,
    watching,
)


async def test_backups_created_since_are_the_period_oldest_first(store: Store) -> None:
    page = [backup(f"b{i}", created_at=T0 - i * DAY) for i in range(10)]
    await store.save_backups(PRIMARY.id, page, T0)
    await store.save_backups(SECONDARY.id, [backup("other", created_at=T0)], T0)
    since = await store.backups_created_since(PRIMARY.id, T0 - 3 * DAY)
    assert [b.id for b in since] == ["b3", "b2", "b1", "b0"]
    assert since[-1] == page[0]
    assert await store.oldest_backup_created_at(PRIMARY.id) == T0 - 9 * DAY
    assert await store.oldest_backup_created_at("nowhere") is None


async def test_all_watches_by_channel_and_open_problems_everywhere(store: Store) -> None:
    ops = await watching(store, "C-ops")
    dev = await watching(store, "C-dev", SECONDARY)
    await watching(store, "C-dev")
    await store.record_alerts(
        [digest(ops, alert(Event.FAILED, "f1")), digest(dev, alert(Event.FAILED, "f2"))], T0
    )
    await store.record_alerts([digest(ops, alert(Event.FAILED, "f3"))], T0 + HOUR)
    watches = await store.all_watches(team=SINGLE)
    assert [(w.channel, w.destination_id) for w in watches] == [
        ("C-dev", PRIMARY.id),
        ("C-dev", SECONDARY.id),
        ("C-ops", PRIMARY.id),
    ]
    shown, total = await store.open_problems(team=SINGLE, limit=2)
    assert total == 3
    # Newest first: f3, then one of the two raised together.
    assert shown[0].alert.subject == "f3"
    assert {s.alert.subject for s in shown} < {"f1", "f2", "f3"}
    counts = await store.open_problem_counts(team=SINGLE)
    assert counts == {("C-ops", PRIMARY.id): 2, ("C-dev", SECONDARY.id): 1}


async def test_a_weekly_report_is_claimed_once_and_queued_with_its_claim(store: Store) -> None:
    watch = await watching(store)
    note = note_to_json(WeeklyReportNote(PRIMARY.id, PRIMARY.name, T0))
    first = await store.claim_weekly_report(watch, T0, note=note, now=T0)
    assert first is not None and first > 0
    assert await store.claim_weekly_report(watch, T0, note=note, now=T0) is None
    # Next week's is a new claim.
    later = await store.claim_weekly_report(watch, T0 + 7 * DAY, note=None, now=T0 + 7 * DAY)
    assert later == 0  # skipped (muted): claimed, nothing queued
    items = await store.outbox_items()
    assert [(i.kind, i.channel) for i in items] == [(OutboxKind.NOTE, "C-ops")]
    assert note_from_json(items[0].payload or {}) == WeeklyReportNote(PRIMARY.id, PRIMARY.name, T0)
    reread = await store.watch_by_id(watch.id)
    assert reread is not None and reread.report_sent_for == T0 + 7 * DAY


async def test_three_replicas_claim_a_weekly_report_once(store: Store, database_url: str) -> None:
    watch = await watching(store)  # the store fixture made the schema
    async with replica_stores(database_url, 3) as stores:
        note = note_to_json(WeeklyReportNote(PRIMARY.id, PRIMARY.name, T0))
        claims = await asyncio.gather(
            *(s.claim_weekly_report(watch, T0, note=note, now=T0) for s in stores for _ in range(3))
        )
        assert sum(1 for c in claims if c) == 1
        assert len(await stores[1].outbox_items()) == 1


async def test_the_report_setting_is_kept_and_changed(store: Store) -> None:
    watch = await watching(store)
    assert watch.settings.weekly_report and watch.report_sent_for is None
    off = watch.settings.__class__(weekly_report=False)
    changed, _ = await store.save_watch("C-ops", PRIMARY, off, "U-bob", T0 + timedelta(days=1))
    assert changed.settings.weekly_report is False
