"""The outbox: per-channel order, retries, parking, giving up."""

from __future__ import annotations

from bot.core.watches import Event, WatchState
from bot.store import OutboxState, Store
from tests.store.examples import HOUR, PRIMARY, SECONDARY, T0, alert, digest, posts, watching

MINUTE = HOUR / 60


async def test_each_channel_hands_out_its_oldest_message_first(store: Store) -> None:
    a1, a2 = await posts(store, "C-a", "b1", "b2")
    (b1,) = await posts(store, "C-b", "b1")
    assert [i.id for i in await store.pending_deliveries(T0)] == [a1, b1]
    await store.mark_delivered(a1, now=T0)
    assert [i.id for i in await store.pending_deliveries(T0)] == [a2, b1]


async def test_a_channel_waiting_to_retry_is_not_overtaken(store: Store) -> None:
    a1, a2 = await posts(store, "C-a", "b1", "b2")
    (b1,) = await posts(store, "C-b", "b1")
    await store.retry_later(a1, at=T0 + MINUTE, error="rate limited by Slack")

    assert [i.id for i in await store.pending_deliveries(T0)] == [b1]
    (retried,) = [i for i in await store.pending_deliveries(T0 + MINUTE) if i.channel == "C-a"]
    assert retried.id == a1
    assert (retried.attempts, retried.last_error) == (1, "rate limited by Slack")
    assert retried.next_attempt_at == T0 + MINUTE
    assert a2 not in {i.id for i in await store.pending_deliveries(T0 + HOUR)}


async def test_the_next_delivery_is_when_a_channel_head_falls_due(store: Store) -> None:
    assert await store.next_delivery_at() is None
    a1, _ = await posts(store, "C-a", "b1", "b2")
    await store.retry_later(a1, at=T0 + 5 * MINUTE, error="429")
    # The second message is due at T0 but waits behind the first.
    assert await store.next_delivery_at() == T0 + 5 * MINUTE
    (b1,) = await posts(store, "C-b", "b1")
    assert await store.next_delivery_at() == T0
    await store.mark_delivered(b1, now=T0)
    assert await store.next_delivery_at() == T0 + 5 * MINUTE


async def test_pending_deliveries_respect_the_limit(store: Store) -> None:
    for channel in ("C-a", "C-b", "C-c"):
        await posts(store, channel, "b1")
    assert [i.channel for i in await store.pending_deliveries(T0, limit=2)] == ["C-a", "C-b"]


async def test_delivery_records_the_message_on_its_alerts(store: Store) -> None:
    watch = await watching(store)
    result = await store.record_alerts(
        [digest(watch, alert(Event.FAILED, "b1"), alert(Event.FAILED, "b2"))], T0
    )
    (post,) = result.outbox_ids
    await store.mark_delivered(post, now=T0, message_ts="1700.5", alert_ids=result.alert_ids[:1])
    first, second = await store.alerts(result.alert_ids)
    assert (first.message_ts, second.message_ts) == ("1700.5", None)
    (item,) = await store.outbox_items()
    assert item.state == OutboxState.DELIVERED
    assert await store.pending_deliveries(T0) == []
    assert await store.outbox_depth() == 0


async def test_parking_holds_a_channels_messages_and_breaks_its_watches(store: Store) -> None:
    a1, a2 = await posts(store, "C-a", "b1", "b2")
    (b1,) = await posts(store, "C-b", "b1")
    await watching(store, "C-a", SECONDARY)
    await store.set_channel_state("C-b", WatchState.DISABLED, "archived")

    await store.park_channel("C-a", "cannot join")

    states = {i.id: i.state for i in await store.outbox_items()}
    assert states == {a1: OutboxState.PARKED, a2: OutboxState.PARKED, b1: OutboxState.PENDING}
    assert [i.id for i in await store.pending_deliveries(T0)] == [b1]
    assert await store.outbox_depth() == 3
    broken = await store.channel_watches("C-a")
    assert {(w.state, w.state_reason) for w in broken} == {(WatchState.BROKEN, "cannot join")}
    other = await store.watch("C-b", PRIMARY.id)
    assert other is not None and other.state is WatchState.DISABLED


async def test_giving_up_takes_a_message_out_of_line(store: Store) -> None:
    a1, a2 = await posts(store, "C-a", "b1", "b2")
    await store.give_up(a1, reason="Slack refused it: invalid_blocks", now=T0 + MINUTE)
    (failed,) = await store.outbox_items(states=[OutboxState.FAILED])
    assert (failed.id, failed.last_error) == (a1, "Slack refused it: invalid_blocks")
    assert [i.id for i in await store.pending_deliveries(T0 + MINUTE)] == [a2]
    assert await store.outbox_depth() == 1


async def test_outbox_items_can_be_filtered_by_state(store: Store) -> None:
    a1, a2 = await posts(store, "C-a", "b1", "b2")
    await store.mark_delivered(a1, now=T0)
    assert [i.id for i in await store.outbox_items()] == [a1, a2]
    assert [i.id for i in await store.outbox_items(states=[OutboxState.PENDING])] == [a2]
    assert await store.outbox_items(states=[]) == []
