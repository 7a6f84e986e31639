"""What one poll reads up front (`begin_poll`), and the writes it spares, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import event

from bot.core.alerts import EMPTY_LEDGER
from bot.core.watches import Event, PollStatus
from bot.store import (
    ClaimedUnreadError,
    PollPlan,
    PollPlans,
    PollStart,
    ScanState,
    Store,
)
from tests.databases import executed_statements, migrated_store, postgres_schema
from tests.store.examples import DAY, HOUR, PRIMARY, T0, alert, backup, digest, watching

DEST = PRIMARY.id
LOOKBACK = 7 * DAY


def _plan(*channels: str, newest: int = 3) -> PollPlan:
    return PollPlan(
        channels=frozenset(channels),
        lookback=LOOKBACK,
        horizon=DAY,
        ledger_memory=30 * DAY,
        newest=newest,
    )


async def _begin(store: Store, *channels: str, newest: int = 3) -> PollStart:
    return await store.begin_poll(DEST, T0, _plan(*channels, newest=newest))


async def test_a_destination_never_polled_starts_from_nothing(store: Store) -> None:
    start = await _begin(store, "C-ops")
    assert start.status is None and start.scan == ScanState()
    assert start.state.backups == () and start.newest == {}
    assert start.ledgers == {"C-ops": EMPTY_LEDGER} and start.snoozes == []


async def test_it_reads_the_status_the_scan_the_rules_view_and_the_newest_rows(
    store: Store,
) -> None:
    page = [
        backup("b-running", "running", created_at=T0 - HOUR),
        *(backup(f"b-{i}", created_at=T0 - (i + 2) * HOUR) for i in range(5)),
    ]
    await store.save_backups(DEST, page, T0 - HOUR)
    await store.save_scan_state(DEST, ScanState(complete=True, attempts=1))
    await store.record_poll_success(DEST, T0 - HOUR)
    start = await _begin(store, newest=3)
    assert start.status == PollStatus(DEST, last_poll_at=T0 - HOUR, last_success_at=T0 - HOUR)
    assert start.scan == ScanState(complete=True, attempts=1)
    # The rules' view: only what can still raise an alert (the running backup).
    assert [known.backup.id for known in start.state.backups] == ["b-running"]
    assert [a.addon.id for a in start.state.addons] == ["addon-db"]
    # The three newest rows, to compare a page with, as stored.
    assert sorted(start.newest) == ["b-0", "b-1", "b-running"]
    assert start.newest["b-running"]["status"] == "running"
    assert start.newest["b-0"]["created_at"] == T0 - 2 * HOUR


async def test_each_channel_gets_its_own_ledger_and_a_silent_one_an_empty_ledger(
    store: Store,
) -> None:
    ops = await watching(store, "C-ops")
    await watching(store, "C-dev")
    await watching(store, "C-quiet")
    await store.record_alerts([digest(ops, alert(Event.FAILED, "b-1"))], T0)
    start = await _begin(store, "C-ops", "C-dev", "C-quiet")
    assert start.ledgers["C-ops"].raised == frozenset({(Event.FAILED, "b-1")})
    assert [entry.subject for entry in start.ledgers["C-ops"].open_problems] == ["b-1"]
    assert start.ledgers["C-dev"] == EMPTY_LEDGER
    assert start.ledgers["C-quiet"] == EMPTY_LEDGER
    assert await store.ledger("C-ops", DEST, since=T0 - 30 * DAY) == start.ledgers["C-ops"]


async def test_a_page_that_changed_nothing_is_compared_without_a_statement(store: Store) -> None:
    page = [backup(f"b-{i}", created_at=T0 - (i + 1) * HOUR) for i in range(3)]
    await store.save_backups(DEST, page, T0 - HOUR)
    start = await _begin(store, newest=3)
    with executed_statements() as seen:
        saved = await store.save_backups(DEST, page, T0, stored=start.newest)
    assert seen == []
    assert (saved.new, saved.changed, saved.written) == (0, 0, 0)
    assert saved.known_before == {"b-0": "completed", "b-1": "completed", "b-2": "completed"}


async def test_a_page_that_changed_is_written_as_without_the_rows_read_up_front(
    store: Store,
) -> None:
    await store.save_backups(DEST, [backup("b-0", "running", created_at=T0 - HOUR)], T0 - HOUR)
    start = await _begin(store, newest=3)
    page = [backup("b-0", created_at=T0 - HOUR), backup("b-new", created_at=T0)]
    saved = await store.save_backups(DEST, page, T0, stored=start.newest)
    assert (saved.new, saved.changed, saved.written) == (1, 1, 2)
    assert saved.known_before == {"b-0": "running"}
    again = await _begin(store, newest=3)
    assert again.newest["b-0"]["status"] == "completed"
    assert sorted(again.newest) == ["b-0", "b-new"]


async def test_recording_a_poll_can_give_back_its_own_lease_and_no_one_elses(
    store: Store,
) -> None:
    await watching(store)
    await store.ensure_poll_rows()
    claimed = await store.claim_destination("replica-a", now=T0, until=T0 + HOUR, due_before=None)
    assert claimed == DEST
    await store.record_poll_success(DEST, T0, release="replica-b")
    assert await store.leases() == {DEST: ("replica-a", T0 + HOUR)}
    status = await store.record_poll_failure(DEST, T0, "503", release="replica-a")
    assert await store.leases() == {}
    assert status.consecutive_failures == 1


async def test_a_claim_can_read_what_the_poll_needs_on_its_own_connection(
    store: Store,
) -> None:
    await watching(store)
    await store.ensure_poll_rows()
    await store.save_backups(DEST, [backup("b-0", "running", created_at=T0 - HOUR)], T0 - HOUR)
    await store.save_scan_state(DEST, ScanState(complete=True, attempts=1))
    await store.record_poll_success(DEST, T0 - HOUR)
    asked: list[str] = []

    def plan(destination_id: str) -> PollPlan:
        asked.append(destination_id)
        return _plan("C-ops")

    with executed_statements() as seen:
        claimed = await store.claim_and_begin(
            "replica-a", now=T0, until=T0 + HOUR, due_before=None, plan=PollPlans(_plan(), plan)
        )
    assert claimed is not None
    destination_id, start = claimed
    assert (destination_id, asked) == (DEST, [DEST])
    assert start == await _begin(store, "C-ops")
    assert start is not None and start.scan.complete
    assert start.status is not None and start.status.last_success_at == T0 - HOUR
    assert await store.leases() == {DEST: ("replica-a", T0 + HOUR)}
    # One claim (on PostgreSQL inside the statement that reads, bot/store/claim_reads.py).
    assert sum(1 for s in seen if "UPDATE poll_status" in s) == 1
    # The poll row comes back with the claim, not read again.
    assert not [s for s in seen if s.lstrip().upper().startswith("SELECT poll_status.".upper())]
    # Nothing left to claim: no reads, and the plan is not asked.
    again = await store.claim_and_begin(
        "replica-b", now=T0, until=T0 + HOUR, due_before=None, plan=PollPlans(_plan(), plan)
    )
    assert again is None and asked == [DEST]


async def test_when_the_reads_after_a_claim_fail_the_claim_stands_and_is_named(
    store: Store,
) -> None:
    # A damaged row, a bug: the destination must still be polled (the usual way,
    # where the failure costs it only its own poll), so the claim is not lost.
    await watching(store)
    await store.save_backups(DEST, [backup("b1", "in-progress", created_at=T0 - HOUR)], T0)
    await store.ensure_poll_rows()

    def broken_plan(destination_id: str) -> PollPlan:
        raise RuntimeError(f"cannot plan {destination_id}")

    with pytest.raises(ClaimedUnreadError) as failed:
        await store.claim_and_begin(
            "replica-a",
            now=T0,
            until=T0 + HOUR,
            due_before=None,
            plan=PollPlans(_plan(), broken_plan),
        )
    assert failed.value.destination_id == DEST
    assert isinstance(failed.value.__cause__, RuntimeError)
    assert await store.leases() == {DEST: ("replica-a", T0 + HOUR)}


async def test_polls_at_once_wait_for_the_pools_kept_connections_rather_than_open_more() -> None:
    # A replica has dozens of polls in flight; past the pool's size each one used to
    # open an overflow connection to PostgreSQL and close it again a moment later.
    async with _connections_counted() as (store, opened):
        starts = await asyncio.gather(*(_begin(store, "C-ops") for _ in range(40)))
        kept = store.engine.pool.size()  # type: ignore[attr-defined]
    assert len(starts) == 40 and all(start == starts[0] for start in starts)
    # All but one of the kept connections: that one is left to Slack's requests.
    assert 0 < len(opened) <= kept - 1


async def test_pages_saved_at_once_wait_for_the_pools_kept_connections_too() -> None:
    # A first read stores every page on an ORM session; with dozens of polls in
    # flight, each past the pool's size used to open a connection and close it again.
    async with _connections_counted() as (store, opened):
        pages = [
            [backup(f"b-{i}-{j}", created_at=T0 - (j + 1) * HOUR) for j in range(5)]
            for i in range(40)
        ]
        saved = await asyncio.gather(
            *(store.save_backups(f"dest-{i}", page, T0) for i, page in enumerate(pages))
        )
        states = await asyncio.gather(
            *(
                store.destination_state(f"dest-{i}", T0, lookback=LOOKBACK, horizon=DAY)
                for i in range(40)
            )
        )
        kept = store.engine.pool.size()  # type: ignore[attr-defined]
    assert [s.new for s in saved] == [5] * 40
    assert all(state.addons for state in states)
    assert 0 < len(opened) <= kept - 1


async def test_lease_reads_at_the_end_of_polls_wait_for_the_pools_kept_connections_too() -> None:
    # Each Northflank connection's share of a cycle ends by asking when another
    # replica's lease frees up; with several replicas, dozens of them end together.
    async with _connections_counted() as (store, opened):
        await store.ensure_poll_rows()
        until = T0 + HOUR
        assert await store.claim_destination("replica-a", now=T0, until=until, due_before=T0)
        expiries = await asyncio.gather(
            *(store.next_lease_expiry("replica-b", now=T0, due_before=T0) for _ in range(40))
        )
        kept = store.engine.pool.size()  # type: ignore[attr-defined]
    assert expiries == [until] * 40
    assert 0 < len(opened) <= kept - 1


@asynccontextmanager
async def _connections_counted() -> AsyncIterator[tuple[Store, list[object]]]:
    """A PostgreSQL store with one watch, and every connection it opens to the server."""
    async with postgres_schema() as url, migrated_store(url) as store:
        opened: list[object] = []
        event.listen(store.engine.sync_engine, "connect", lambda *args: opened.append(args))
        await watching(store)
        yield store, opened
