"""Leased work: replicas' workers share a cycle's destinations through the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from bot.core.backups import Destination
from bot.services.poll_work import LeasedWork
from bot.services.replica import Replica
from bot.store import Store
from tests.store.examples import T0, watching

WORKERS = 4
MINUTE = timedelta(minutes=1)


@contextmanager
def _claims() -> Iterator[list[str]]:
    """Each claim's first query (never-polled destinations) as it reaches the database."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        statement = args[2]
        if "FROM poll_status" in statement and "ORDER BY poll_status.destination_id" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


async def test_once_a_claim_finds_nothing_the_other_workers_stop_asking(store: Store) -> None:
    for name in ("dest-a", "dest-b"):
        await watching(store, "C-ops", Destination(name, name))
    await store.ensure_poll_rows()
    replica = Replica(store, clock=lambda: T0)
    # Due: not polled since a minute ago; polling one records it at T0, so it is not again.
    work = LeasedWork(store, replica, quota=10, due_before=T0 - MINUTE, only=None, clock=lambda: T0)
    polled: list[str] = []
    while len(polled) < 2 and (destination_id := await work.take()) is not None:
        polled.append(destination_id)
        await store.record_poll_success(destination_id, T0)
        await work.done(destination_id, crashed=False, released=False)
    assert sorted(polled) == ["dest-a", "dest-b"]
    with _claims() as claims:
        # One worker asks and finds nothing; every other worker of the cycle then stops
        # without asking the database again (before, each asked once more: WORKERS claims).
        results = [await work.take() for _ in range(WORKERS)]
    assert results == [None] * WORKERS
    assert len(claims) == 1
    assert await store.leases() == {}


async def test_a_destination_that_crashed_stays_leased_until_the_cycle_ends(store: Store) -> None:
    # A claim asked before the crash was known carries an `exclude` without it: were
    # the lease given back at once, that claim would find it free and take it again,
    # in place of a destination not yet polled this cycle.
    for name in ("dest-a", "dest-b"):
        await watching(store, "C-ops", Destination(name, name))
    await store.ensure_poll_rows()
    replica = Replica(store, clock=lambda: T0)
    work = LeasedWork(store, replica, quota=10, due_before=None, only=None, clock=lambda: T0)
    crashed = await work.take()
    assert crashed == "dest-a"  # never polled, by id
    await work.done(crashed, crashed=True, released=False)
    stale = await store.claim_destination(
        "another-worker-of-this-cycle", now=T0, until=T0 + MINUTE, due_before=None, exclude=()
    )
    assert stale == "dest-b"
    assert set(await store.leases()) == {"dest-a", "dest-b"}
    await work.finish()
    assert set(await store.leases()) == {"dest-b"}
