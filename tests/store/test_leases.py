"""Leases and claims: how replicas share destinations and outbox rows, on both databases.

The concurrent tests open one Store (one engine, one pool) per replica on the
same database, as separate processes would: on PostgreSQL they race for rows
with FOR UPDATE SKIP LOCKED, on SQLite they take turns at the write lock.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

from bot.core.backups import Destination
from bot.core.watches import Event, WatchState
from bot.store import Claim, ReplicaInfo, Store
from tests.store.examples import (
    HOUR,
    PRIMARY,
    SECONDARY,
    T0,
    alert,
    digest,
    posts,
    replica_stores,
    watching,
)

MINUTE = HOUR / 60
LEASE = MINUTE
INTERVAL_AGO = T0 - 5 * MINUTE  # "due" means last polled before this


async def _claim(
    store: Store, owner: str, *, now: datetime = T0, due_before: datetime | None = INTERVAL_AGO
) -> str | None:
    return await store.claim_destination(owner, now=now, until=now + LEASE, due_before=due_before)


async def _watched(store: Store, *destinations: Destination) -> None:
    for destination in destinations:
        await watching(store, "C-ops", destination)
    await store.ensure_poll_rows()


# ----- destinations ---------------------------------------------------------------------


async def test_a_leased_destination_is_not_handed_to_another_replica(store: Store) -> None:
    await _watched(store, PRIMARY)
    assert await _claim(store, "replica-a") == PRIMARY.id
    assert await _claim(store, "replica-b") is None
    assert await store.leases() == {PRIMARY.id: ("replica-a", T0 + LEASE)}


async def test_the_least_recently_polled_due_destination_goes_first(store: Store) -> None:
    await _watched(store, PRIMARY, SECONDARY)
    await store.record_poll_success(PRIMARY.id, T0 - HOUR)
    await store.record_poll_success(SECONDARY.id, T0 - 2 * HOUR)
    assert await _claim(store, "replica-a") == SECONDARY.id
    assert await _claim(store, "replica-a") == PRIMARY.id


async def test_a_destination_polled_this_interval_is_not_due(store: Store) -> None:
    await _watched(store, PRIMARY)
    await store.record_poll_success(PRIMARY.id, T0 - MINUTE)
    assert await _claim(store, "replica-a") is None
    # A forced poll (`check`) takes it all the same.
    assert await _claim(store, "replica-a", due_before=None) == PRIMARY.id


async def test_polling_then_releasing_leaves_it_to_nobody_until_due_again(store: Store) -> None:
    await _watched(store, PRIMARY)
    assert await _claim(store, "replica-a") == PRIMARY.id
    await store.record_poll_success(PRIMARY.id, T0)
    await store.release_destination("replica-a", PRIMARY.id)
    assert await store.leases() == {}
    assert await _claim(store, "replica-b") is None
    later = T0 + 5 * MINUTE
    assert await _claim(store, "replica-b", now=later, due_before=later - 5 * MINUTE) == PRIMARY.id


async def test_a_dead_replicas_lease_runs_out_and_is_taken_over(store: Store) -> None:
    await _watched(store, PRIMARY)
    assert await _claim(store, "replica-dead") == PRIMARY.id
    assert await _claim(store, "replica-b", now=T0 + LEASE / 2) is None
    assert await _claim(store, "replica-b", now=T0 + LEASE) == PRIMARY.id
    assert await store.leases() == {PRIMARY.id: ("replica-b", T0 + 2 * LEASE)}


async def test_only_the_holder_can_release_a_lease(store: Store) -> None:
    await _watched(store, PRIMARY)
    await _claim(store, "replica-a")
    await store.release_destination("replica-b", PRIMARY.id)
    assert await store.leases() == {PRIMARY.id: ("replica-a", T0 + LEASE)}


async def test_unwatched_and_disabled_destinations_are_never_claimed(store: Store) -> None:
    await _watched(store, PRIMARY)
    await store.set_channel_state("C-ops", WatchState.DISABLED, "channel archived")
    assert await _claim(store, "replica-a") is None


async def test_only_and_exclude_narrow_the_claim(store: Store) -> None:
    await _watched(store, PRIMARY, SECONDARY)
    claim = store.claim_destination
    until = T0 + LEASE
    assert await claim("r", now=T0, until=until, due_before=None, only=SECONDARY.id) == (
        SECONDARY.id
    )
    assert await claim("r", now=T0, until=until, due_before=None, exclude=[PRIMARY.id]) is None


async def test_a_claimed_but_unpolled_destination_reports_no_poll(store: Store) -> None:
    await _watched(store, PRIMARY)
    await _claim(store, "replica-a")
    assert await store.poll_statuses([PRIMARY.id]) == {}


async def test_next_lease_expiry_names_when_a_due_destination_frees_up(store: Store) -> None:
    await _watched(store, PRIMARY, SECONDARY)
    await _claim(store, "replica-dead")
    await _claim(store, "replica-dead", now=T0 + MINUTE / 2)
    expiry = await store.next_lease_expiry("replica-b", now=T0, due_before=INTERVAL_AGO)
    assert expiry == T0 + LEASE
    # Its own leases are not something a replica waits for.
    assert await store.next_lease_expiry("replica-dead", now=T0, due_before=INTERVAL_AGO) is None


async def test_replicas_claiming_at_once_each_get_different_destinations(
    database_url: str, store: Store
) -> None:
    destinations = [Destination(f"dest-{i:02}", f"D{i}") for i in range(40)]
    await _watched(store, *destinations)
    claimed: Counter[str] = Counter()
    owners: dict[str, str] = {}

    async def replica(name: str, its_store: Store) -> None:
        while (destination_id := await _claim(its_store, name)) is not None:
            claimed[destination_id] += 1
            owners[destination_id] = name
            await asyncio.sleep(0)  # let the others in between claims

    async with replica_stores(database_url, 3) as stores:
        await asyncio.gather(*(replica(f"replica-{i}", s) for i, s in enumerate(stores)))

    assert claimed == Counter({d.id: 1 for d in destinations})
    leases = await store.leases()
    assert {d: owner for d, (owner, _until) in leases.items()} == owners


# ----- the replica registry and heartbeats ----------------------------------------------


def _info(replica_id: str, seen: datetime = T0) -> ReplicaInfo:
    return ReplicaInfo(replica_id, "host", 1, T0 - HOUR, seen)


async def test_a_heartbeat_renews_only_the_leases_named(store: Store) -> None:
    await _watched(store, PRIMARY, SECONDARY)
    await _claim(store, "replica-a")
    await _claim(store, "replica-a")
    later = T0 + LEASE / 2
    await store.heartbeat(
        _info("replica-a"), now=later, claims_until=later + LEASE, destination_ids=[PRIMARY.id]
    )
    leases = await store.leases()
    assert leases[PRIMARY.id] == ("replica-a", later + LEASE)
    # A lease the replica lost track of runs out instead of living as long as it does.
    assert leases[SECONDARY.id] == ("replica-a", T0 + LEASE)


async def test_live_replicas_are_those_heard_from_within_a_lease(store: Store) -> None:
    await store.heartbeat(_info("replica-a"), now=T0 - 2 * LEASE, claims_until=T0)
    await store.heartbeat(_info("replica-b"), now=T0, claims_until=T0 + LEASE)
    await store.heartbeat(_info("replica-c"), now=T0, claims_until=T0 + LEASE)
    assert len(await store.live_replicas(seen_since=T0 - LEASE)) == 2
    assert [r.id for r in await store.live_replicas(seen_since=T0 - LEASE)] == [
        "replica-b",
        "replica-c",
    ]


async def test_releasing_everything_frees_leases_and_claims_and_leaves_the_registry(
    store: Store,
) -> None:
    await _watched(store, PRIMARY)
    await _claim(store, "replica-a")
    (post,) = await posts(store, "C-ops", "b1")
    await store.pending_deliveries(T0, claim=Claim("replica-a", T0 + LEASE))
    await store.heartbeat(_info("replica-a"), now=T0, claims_until=T0 + LEASE)

    await store.release_everything("replica-a")

    assert await store.leases() == {}
    assert await store.live_replicas(seen_since=T0 - LEASE) == []
    (item,) = await store.pending_deliveries(T0, claim=Claim("replica-b", T0 + LEASE))
    assert item.id == post


# ----- outbox claims --------------------------------------------------------------------


def _claim_for(owner: str, now: datetime = T0) -> Claim:
    return Claim(owner, now + LEASE)


async def test_a_claimed_message_is_handed_to_no_other_replica(store: Store) -> None:
    (a1,) = await posts(store, "C-a", "b1")
    (b1,) = await posts(store, "C-b", "b1")
    first = await store.pending_deliveries(T0, claim=_claim_for("replica-a"), limit=1)
    assert [i.id for i in first] == [a1]
    assert [i.id for i in await store.pending_deliveries(T0, claim=_claim_for("replica-b"))] == [b1]
    assert await store.pending_deliveries(T0, claim=_claim_for("replica-c")) == []
    # The holder itself gets it again (a pass that skipped it, waiting for pacing).
    again = await store.pending_deliveries(T0, claim=_claim_for("replica-a"))
    assert [i.id for i in again] == [a1]


async def test_a_dead_replicas_claim_runs_out(store: Store) -> None:
    (a1,) = await posts(store, "C-a", "b1")
    await store.pending_deliveries(T0, claim=_claim_for("replica-dead"))
    assert await store.pending_deliveries(T0 + LEASE / 2, claim=_claim_for("replica-b")) == []
    taken = await store.pending_deliveries(T0 + LEASE, claim=_claim_for("replica-b", T0 + LEASE))
    assert [(i.id, i.claimed_by) for i in taken] == [(a1, "replica-b")]


async def test_a_replica_keeps_the_channel_it_delivers_to(store: Store) -> None:
    a1, a2 = await posts(store, "C-a", "b1", "b2")
    await store.pending_deliveries(T0, claim=_claim_for("replica-a"))
    await store.mark_delivered(a1, now=T0, claim=_claim_for("replica-a"))
    # The channel's next message went to replica-a with the first, so its pacing holds.
    assert await store.pending_deliveries(T0, claim=_claim_for("replica-b")) == []
    (item,) = await store.pending_deliveries(T0, claim=_claim_for("replica-a"))
    assert item.id == a2
    (delivered,) = await store.outbox_items(states=["delivered"])
    assert delivered.claimed_by == "replica-a"  # who posted it


async def test_a_message_to_retry_is_free_for_any_replica_when_due(store: Store) -> None:
    (a1,) = await posts(store, "C-a", "b1")
    await store.pending_deliveries(T0, claim=_claim_for("replica-a"))
    await store.retry_later(a1, at=T0 + MINUTE, error="Slack answered 500")
    taken = await store.pending_deliveries(T0 + MINUTE, claim=_claim_for("replica-b"))
    assert [i.id for i in taken] == [a1]


async def test_replicas_delivering_at_once_each_get_different_messages(
    database_url: str, store: Store
) -> None:
    queued: list[int] = []
    for channel in range(12):
        queued += await posts(store, f"C-{channel:02}", "b1", "b2")
    delivered: Counter[int] = Counter()

    async def replica(name: str, its_store: Store) -> None:
        while items := await its_store.pending_deliveries(T0, claim=_claim_for(name), limit=2):
            for item in items:
                delivered[item.id] += 1
                await its_store.mark_delivered(item.id, now=T0, claim=_claim_for(name))
            await asyncio.sleep(0)

    async with replica_stores(database_url, 3) as stores:
        await asyncio.gather(*(replica(f"replica-{i}", s) for i, s in enumerate(stores)))

    assert delivered == Counter(dict.fromkeys(queued, 1))


async def test_replicas_recording_the_same_alerts_at_once_record_them_once(
    database_url: str, store: Store
) -> None:
    watch = await watching(store, "C-ops")
    batch = [digest(watch, alert(Event.FAILED, "b1"), alert(Event.FAILED, "b2"))]
    async with replica_stores(database_url, 3) as stores:
        results = await asyncio.gather(*(s.record_alerts(batch, T0) for s in stores))

    assert sorted(len(r.alert_ids) for r in results) == [0, 0, 2]
    assert sorted(len(r.outbox_ids) for r in results) == [0, 0, 1]
    assert len(await store.outbox_items()) == 1
