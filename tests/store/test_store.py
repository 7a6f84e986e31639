"""The Store as a whole: connecting, closing, and dry runs that change nothing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import IntegrityError

from bot.core.watches import Event
from bot.store import Store
from tests.store.examples import (
    DAY,
    PRIMARY,
    SECONDARY,
    T0,
    alert,
    backup,
    digest,
    recovery,
    watching,
)


async def test_a_dry_run_sees_its_own_writes_and_leaves_nothing_behind(store: Store) -> None:
    async with store.dry_run() as dry:
        watch = await watching(dry)
        await dry.save_backups(PRIMARY.id, [backup("b1", "failed")], T0)
        await dry.record_poll_success(PRIMARY.id, T0)
        recorded = await dry.record_alerts([digest(watch, alert(Event.FAILED, "b1"))], T0)

        assert await dry.watch("C-ops", PRIMARY.id) == watch
        assert await dry.known_statuses(PRIMARY.id, ["b1"]) == {"b1": "failed"}
        assert [i.id for i in await dry.pending_deliveries(T0)] == recorded.outbox_ids
        # Meanwhile, outside the dry run, nothing has happened.
        assert await store.watch("C-ops", PRIMARY.id) is None

    assert await store.watch("C-ops", PRIMARY.id) is None
    assert await store.known_statuses(PRIMARY.id, ["b1"]) == {}
    assert await store.poll_statuses([PRIMARY.id]) == {}
    assert await store.alerts(recorded.alert_ids) == []
    assert await store.outbox_items() == []


async def test_a_dry_run_leaves_what_was_there_untouched(store: Store) -> None:
    watch = await watching(store)
    async with store.dry_run() as dry:
        await dry.set_muted_until("C-ops", PRIMARY.id, T0 + DAY)
        await dry.remove_watch("C-ops", PRIMARY.id)
        assert await dry.watch("C-ops", PRIMARY.id) is None
    assert await store.watch("C-ops", PRIMARY.id) == watch


async def test_a_dry_run_survives_concurrent_calls(store: Store) -> None:
    async with store.dry_run() as dry:
        await asyncio.gather(
            *(
                dry.save_backups(destination.id, [backup(f"b{i}")], T0)
                for i in range(5)
                for destination in (PRIMARY, SECONDARY)
            )
        )
        statuses = await dry.known_statuses(PRIMARY.id, [f"b{i}" for i in range(5)])
    assert len(statuses) == 5


async def test_a_failed_call_in_a_dry_run_undoes_only_itself(store: Store) -> None:
    async with store.dry_run() as dry:
        watch = await watching(dry)
        # Threads under a ledger entry that does not exist: the database refuses it
        # (on PostgreSQL that would abort the whole outer transaction, but for savepoints).
        orphan = alert(Event.RECOVERED, "b2", resolves=(123456,))
        with pytest.raises(IntegrityError):
            await dry.record_alerts([recovery(watch, orphan)], T0)
        assert await dry.watch("C-ops", PRIMARY.id) == watch
        assert await dry.outbox_items() == []
        await dry.record_poll_success(PRIMARY.id, T0)
        assert PRIMARY.id in await dry.poll_statuses([PRIMARY.id])


async def test_closing_a_dry_run_store_leaves_the_real_one_open(store: Store) -> None:
    async with store.dry_run() as dry:
        await dry.close()
    await watching(store)
    assert await store.count_channel_watches("C-ops") == 1


async def test_concurrent_writers_take_turns(store: Store) -> None:
    # Each save reads, then writes: on SQLite, two such transactions interleaving
    # would fail with "database is locked" unless each takes the write lock up front.
    pages = [[backup(f"b{page}-{i}") for i in range(20)] for page in range(10)]
    await asyncio.gather(*(store.save_backups(PRIMARY.id, page, T0) for page in pages))
    await asyncio.gather(*(store.record_poll_failure(PRIMARY.id, T0, "503") for _ in range(10)))
    ids = [b.id for page in pages for b in page]
    assert len(await store.known_statuses(PRIMARY.id, ids)) == 200
    status = (await store.poll_statuses([PRIMARY.id]))[PRIMARY.id]
    assert status.consecutive_failures == 10
