"""The APScheduler wiring: polls run on their interval, in this loop, and survive failures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger

from bot.core.alerts import Alert
from bot.core.backups import Destination
from bot.core.watches import Event, WatchSettings
from bot.northflank.client import NorthflankClient
from bot.runtime.scheduler import PollScheduler
from bot.services.followups import Followups
from bot.services.poller import Poller
from bot.store import ChannelAlerts, OutboxKind, Store
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank


async def wait_until(predicate: object, *, limit: float = 10.0) -> None:
    assert callable(predicate)
    for _ in range(int(limit / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_polls_run_repeatedly_and_a_failing_poll_does_not_stop_them(
    store: Store, fake_northflank: FakeNorthflank
) -> None:
    fake_northflank.add_destination("dest-1", "One")
    await store.save_watch(
        "C1", Destination("dest-1", "One"), WatchSettings(), "U1", datetime.now(UTC)
    )
    async with NorthflankClient(api_token=DEFAULT_TOKEN, base_url=fake_northflank.url) as client:
        # A zero interval makes every tick due, so each scheduler run is a real poll.
        poller = Poller(store, client, clock=lambda: datetime.now(UTC), poll_interval=0)
        scheduler = PollScheduler(poller, interval=0.2, first_poll_after=0.0)
        scheduler.start()
        try:
            await wait_until(lambda: fake_northflank.request_count("/v1/backup-destinations") >= 2)
            # Northflank down: the polls fail, the job keeps running.
            fake_northflank.fail_next("500", times=50)
            polls = scheduler.polls
            await wait_until(lambda: scheduler.polls >= polls + 2)
            assert scheduler.running
        finally:
            scheduler.shutdown()
    statuses = await store.poll_statuses(["dest-1"])
    assert statuses["dest-1"].consecutive_failures >= 1


async def test_the_poll_job_coalesces_and_never_overlaps_itself(store: Store) -> None:
    async with NorthflankClient(api_token=DEFAULT_TOKEN, base_url="http://127.0.0.1:9") as client:
        poller = Poller(store, client, clock=lambda: datetime.now(UTC), poll_interval=300)
        scheduler = PollScheduler(poller, interval=300)
        scheduler.start()
        try:
            job = scheduler.poll_job()
            assert job is not None
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time == 150
            assert isinstance(job.trigger, IntervalTrigger)
            assert job.trigger.interval.total_seconds() == 300
        finally:
            scheduler.shutdown()


async def test_the_followups_job_releases_what_quiet_hours_held_every_interval(
    store: Store,
) -> None:
    now = datetime.now(UTC)
    watch, _ = await store.save_watch(
        "C1", Destination("dest-1", "One"), WatchSettings(), "U1", now
    )
    held = Alert(Event.MISSED, "missed:a1:x", "dest-1", occurred_at=now)
    await store.record_alerts(
        [ChannelAlerts(watch, [[held]], [], deliver=True, hold_until=now + timedelta(seconds=0.3))],
        now,
    )
    woken: list[int] = []
    followups = Followups(store, clock=lambda: datetime.now(UTC), wake=lambda: woken.append(1))
    async with NorthflankClient(api_token=DEFAULT_TOKEN, base_url="http://127.0.0.1:9") as client:
        poller = Poller(store, client, clock=lambda: datetime.now(UTC), poll_interval=300)
        scheduler = PollScheduler(
            poller, interval=300, first_poll_after=300, followups=followups, followup_interval=0.2
        )
        scheduler.start()
        try:
            await wait_until(lambda: bool(woken))
        finally:
            await scheduler.stop(grace=1)
    (post,) = await store.outbox_items()
    assert post.kind is OutboxKind.POST and len(post.alert_ids) == 1
    assert await store.held_alerts_due(datetime.now(UTC)) == []
