"""Which channels watch what: saving, removing, muting, and channel-wide states."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

import pytest
from sqlalchemy import text

from bot.core.backups import Destination
from bot.core.quiet_hours import QuietHours
from bot.core.watches import Event, WatchSettings, WatchState
from bot.store import OutboxState, ScanState, Store, TooManyWatchesError, engine_for
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

FAILURES_ONLY = WatchSettings(
    events=frozenset({Event.FAILED, Event.MISSED}), expiry=timedelta(hours=24), stuck=HOUR
)


async def test_a_new_watch_starts_now_and_is_active(store: Store) -> None:
    watch, created = await store.save_watch("C-ops", PRIMARY, FAILURES_ONLY, "U-alice", T0)
    assert created
    assert (watch.channel, watch.destination_id, watch.destination_name) == (
        "C-ops",
        PRIMARY.id,
        PRIMARY.name,
    )
    assert watch.settings == FAILURES_ONLY
    assert (watch.started_at, watch.created_by) == (T0, "U-alice")
    assert watch.state is WatchState.ACTIVE and watch.muted_until is None
    assert await store.watch("C-ops", PRIMARY.id) == watch
    assert await store.watch_by_id(watch.id) == watch


async def test_saving_again_changes_settings_but_not_when_watching_began(store: Store) -> None:
    first = await watching(store, now=T0)
    renamed = Destination(PRIMARY.id, "Primary (renamed)")
    watch, created = await store.save_watch("C-ops", renamed, FAILURES_ONLY, "U-bob", T0 + DAY)
    assert not created
    assert watch.id == first.id
    assert watch.settings == FAILURES_ONLY and watch.destination_name == "Primary (renamed)"
    assert (watch.started_at, watch.created_by) == (T0, "U-alice")


async def test_saving_a_broken_watch_makes_it_active_and_unparks_the_channel(store: Store) -> None:
    watch = await watching(store, "C-ops")
    elsewhere = await watching(store, "C-other")
    await store.record_alerts(
        [digest(watch, alert(Event.FAILED, "b1")), digest(elsewhere, alert(Event.FAILED, "b1"))],
        T0,
    )
    await store.park_channel("C-ops", "not in the channel")
    await store.park_channel("C-other", "not in the channel")

    saved, _ = await store.save_watch("C-ops", PRIMARY, WatchSettings(), "U-alice", T0 + HOUR)

    assert saved.state is WatchState.ACTIVE and saved.state_reason is None
    items = {item.channel: item for item in await store.outbox_items()}
    assert items["C-ops"].state == OutboxState.PENDING
    assert items["C-ops"].next_attempt_at == T0 + HOUR
    assert items["C-other"].state == OutboxState.PARKED


async def test_removing_a_watch_returns_it_and_then_nothing(store: Store) -> None:
    watch = await watching(store)
    assert await store.remove_watch("C-ops", PRIMARY.id) == watch
    assert await store.watch("C-ops", PRIMARY.id) is None
    assert await store.remove_watch("C-ops", PRIMARY.id) is None


async def _know_something_about(store: Store, destination_id: str) -> None:
    await store.save_backups(destination_id, [backup("b1", "failed")], T0)
    await store.record_poll_success(destination_id, T0)
    await store.save_scan_state(destination_id, ScanState(True, None))


async def test_the_last_watcher_leaving_forgets_the_destination_but_not_the_ledger(
    store: Store,
) -> None:
    watch = await watching(store)
    await _know_something_about(store, PRIMARY.id)
    recorded = await store.record_alerts([digest(watch, alert(Event.FAILED, "b1"))], T0)

    await store.remove_watch("C-ops", PRIMARY.id)

    assert await store.known_statuses(PRIMARY.id, ["b1"]) == {}
    state = await store.destination_state(PRIMARY.id, T0, lookback=DAY, horizon=DAY)
    assert state.backups == () and state.addons == ()
    assert await store.poll_statuses([PRIMARY.id]) == {}
    assert await store.scan_state(PRIMARY.id) == ScanState()
    assert [a.id for a in await store.alerts(recorded.alert_ids)] == recorded.alert_ids
    assert [i.id for i in await store.outbox_items()] == recorded.outbox_ids


async def test_a_destination_still_watched_elsewhere_is_not_forgotten(store: Store) -> None:
    await watching(store, "C-ops")
    await watching(store, "C-dba")
    await _know_something_about(store, PRIMARY.id)

    await store.remove_watch("C-ops", PRIMARY.id)

    assert await store.known_statuses(PRIMARY.id, ["b1"]) == {"b1": "failed"}
    assert PRIMARY.id in await store.poll_statuses([PRIMARY.id])
    assert await store.scan_state(PRIMARY.id) == ScanState(True, None)


async def test_channel_watches_are_listed_by_destination_name(store: Store) -> None:
    zebra = Destination("dest-a", "Zebra")
    await watching(store, "C-ops", zebra)
    await watching(store, "C-ops", SECONDARY)
    await watching(store, "C-ops", PRIMARY)
    await watching(store, "C-other", PRIMARY)
    listed = await store.channel_watches("C-ops")
    assert [w.destination_name for w in listed] == ["Primary", "Secondary", "Zebra"]
    assert await store.count_channel_watches("C-ops") == 3
    assert await store.count_channel_watches("C-nobody") == 0


async def test_pollable_watches_leave_out_disabled_channels(store: Store) -> None:
    await watching(store, "C-b", SECONDARY)
    await watching(store, "C-a", SECONDARY)
    await watching(store, "C-a", PRIMARY)
    await watching(store, "C-gone", PRIMARY)
    await store.set_channel_state("C-gone", WatchState.DISABLED, "archived")
    await store.set_channel_state("C-b", WatchState.BROKEN, "not in channel")
    pollable = [(w.destination_id, w.channel) for w in await store.pollable_watches()]
    assert pollable == [(PRIMARY.id, "C-a"), (SECONDARY.id, "C-a"), (SECONDARY.id, "C-b")]


async def test_muting_and_unmuting(store: Store) -> None:
    await watching(store)
    muted = await store.set_muted_until("C-ops", PRIMARY.id, T0 + 8 * HOUR)
    assert muted is not None and muted.muted_until == T0 + 8 * HOUR
    assert muted.muted(T0) and not muted.muted(T0 + 8 * HOUR)
    unmuted = await store.set_muted_until("C-ops", PRIMARY.id, None)
    assert unmuted is not None and unmuted.muted_until is None
    assert await store.watch("C-ops", PRIMARY.id) == unmuted
    assert await store.set_muted_until("C-ops", SECONDARY.id, T0) is None


async def test_set_channel_state_counts_the_watches_it_changed(store: Store) -> None:
    await watching(store, "C-ops", PRIMARY)
    await watching(store, "C-ops", SECONDARY)
    await watching(store, "C-other", PRIMARY)
    assert await store.set_channel_state("C-ops", WatchState.DISABLED, "archived") == 2
    assert await store.set_channel_state("C-ops", WatchState.DISABLED, "archived") == 0
    assert await store.set_channel_state("C-ops", WatchState.DISABLED, "deleted") == 2
    states = {(w.channel, w.destination_id): w for w in await store.channel_watches("C-ops")}
    assert {w.state for w in states.values()} == {WatchState.DISABLED}
    assert {w.state_reason for w in states.values()} == {"deleted"}
    other = await store.watch("C-other", PRIMARY.id)
    assert other is not None and other.state is WatchState.ACTIVE


async def test_every_event_choice_survives_the_round_trip(store: Store) -> None:
    for events in (frozenset(), frozenset({Event.EXPIRING}), frozenset(Event)):
        settings = WatchSettings(events=events, expiry=timedelta(minutes=90), stuck=DAY)
        watch, _ = await store.save_watch("C-ops", PRIMARY, settings, "U-alice", T0)
        assert watch.settings == settings
        assert await store.watch("C-ops", PRIMARY.id) == watch


async def test_quiet_hours_in_a_zone_this_host_cannot_read_mean_no_quiet_hours(
    store: Store, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another replica with a newer tzdata may have saved a zone this one lacks."""
    quiet = QuietHours(time(22), time(7), "Europe/Berlin")
    watch, _ = await store.save_watch("C-ops", PRIMARY, WatchSettings(quiet=quiet), "U-alice", T0)
    assert watch.settings.quiet == quiet
    engine = engine_for(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE watches SET quiet_hours = '22:00-07:00 Mars/Olympus_Mons'")
            )
    finally:
        await engine.dispose()
    read = await store.watch("C-ops", PRIMARY.id)
    assert read is not None and read.settings.quiet is None
    assert "cannot be read here" in caplog.text


async def test_the_watch_limit_holds_when_many_channels_watch_at_once(
    database_url: str, store: Store
) -> None:
    # Ten `watch` commands for ten new destinations, on five replicas at once, in a
    # channel that watches three already: the limit of five lets exactly two more in.
    limit = 5
    async with replica_stores(database_url, 5) as stores:
        for index in range(3):
            await stores[0].save_watch(
                "C-ops", Destination(f"d{index}", "x"), WatchSettings(), "U1", T0
            )

        async def try_watch(on: Store, index: int) -> int | None:
            try:
                await on.save_watch(
                    "C-ops",
                    Destination(f"new-{index}", "x"),
                    WatchSettings(),
                    "U1",
                    T0,
                    limit=limit,
                )
            except TooManyWatchesError as full:
                return full.count
            return None

        results = await asyncio.gather(*(try_watch(stores[i % 5], i) for i in range(10)))
        # Eight were refused, each told the channel watches as many as it may.
        assert results.count(None) == 2 and results.count(limit) == 8
        assert await stores[0].count_channel_watches("C-ops") == limit
        # Changing a watch the channel has is never refused.
        await stores[1].save_watch(
            "C-ops", Destination("d0", "y"), WatchSettings(), "U1", T0, limit=limit
        )
