"""Delivery's pacing and retry schedule, against the store and a fake Slack (through the
Slack adapter's sender)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text

from bot.core.alerts import Alert
from bot.core.audit import AuditAction, Requester
from bot.core.backups import Backup, BackupStatus, Destination, Ref
from bot.core.messages import WriteResultNote, note_to_json
from bot.core.watches import Event, WatchSettings
from bot.services.delivery import MAX_INTERNAL_FAILURES, Delivery
from bot.slack.sender import SlackSender
from bot.store import ChannelAlerts, Store, engine_for
from tests.clock import FakeClock
from tests.fakes.slack import DEFAULT_TOKEN, FakeSlack


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


def failed(backup_id: str, clock: FakeClock) -> Alert:
    backup = Backup(
        id=backup_id,
        name=backup_id,
        status=BackupStatus.FAILED,
        status_text="failed",
        created_at=clock.now(),
        addon=Ref("addon-1", "orders-db"),
    )
    return Alert(
        Event.FAILED,
        backup_id,
        "dest-1",
        clock.now(),
        backup=backup,
        addon=backup.addon,
    )


async def queue(store: Store, clock: FakeClock, channel: str, *digests: list[str]) -> list[int]:
    """Failed-backup alerts for `channel`, one message per list of names; their ledger ids."""
    watch, _ = await store.save_watch(
        channel, Destination("dest-1", "Nightly"), WatchSettings(), "U1", clock.now()
    )
    batch = ChannelAlerts(
        watch=watch,
        digests=[[failed(name, clock) for name in names] for names in digests],
        recoveries=[],
        deliver=True,
    )
    return (await store.record_alerts([batch], clock.now())).alert_ids


@pytest.fixture
def slow_slack() -> Iterator[FakeSlack]:
    with FakeSlack(retry_after=7) as fake:
        yield fake


def sender_for(slack: FakeSlack, clock: FakeClock) -> SlackSender:
    """The Slack adapter, as the running bot wires it, talking to the fake Slack."""
    return SlackSender(AsyncWebClient(token=DEFAULT_TOKEN, base_url=slack.api_url), clock=clock.now)


async def test_each_channel_gets_at_most_one_message_per_interval_in_order(
    store: Store, fake_slack: FakeSlack
) -> None:
    clock, monotonic = FakeClock(), FakeMonotonic()
    await queue(store, clock, "C0BUSY", ["a1"], ["a2"], ["a3"])
    await queue(store, clock, "C0QUIET", ["b1"])
    delivery = Delivery(
        store,
        sender_for(fake_slack, clock),
        clock=clock.now,
        per_channel_interval=1.0,
        monotonic=monotonic,
    )

    first = await delivery.deliver_due()
    assert sorted(o.channel for o in first) == ["C0BUSY", "C0QUIET"]
    assert await delivery.deliver_due() == []  # C0BUSY posted less than a second ago

    monotonic.value += 1.0
    assert [o.channel for o in await delivery.deliver_due()] == ["C0BUSY"]
    monotonic.value += 1.0
    await delivery.deliver_due()
    texts = [m["text"] for m in fake_slack.posted("C0BUSY")]
    assert [next(n for n in ("a1", "a2", "a3") if n in t) for t in texts] == ["a1", "a2", "a3"]


async def test_a_429_waits_exactly_retry_after_and_holds_the_channel_queue(
    store: Store, slow_slack: FakeSlack
) -> None:
    clock = FakeClock()
    await queue(store, clock, "C0BUSY", ["a1"], ["a2"])
    delivery = Delivery(
        store, sender_for(slow_slack, clock), clock=clock.now, per_channel_interval=0
    )
    slow_slack.fail_next("chat.postMessage", "429")

    [outcome] = await delivery.deliver_due()
    assert outcome.result == "retry"
    [head, behind] = await store.outbox_items(states=["pending"])
    assert head.next_attempt_at == clock.now() + timedelta(seconds=7)
    assert head.attempts == 1 and behind.attempts == 0
    # The second message may not overtake the first while it waits.
    assert await delivery.deliver_due() == []
    clock.advance(seconds=7)
    await delivery.drain()
    assert [m["text"].count("a1") > 0 for m in slow_slack.posted("C0BUSY")] == [True, False]
    assert await store.outbox_depth() == 0


async def test_blocks_slack_refuses_go_out_as_plain_text(
    store: Store, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    await queue(store, clock, "C0BUSY", ["a1"])
    delivery = Delivery(
        store, sender_for(fake_slack, clock), clock=clock.now, per_channel_interval=0
    )
    fake_slack.fail_next("chat.postMessage", "invalid_blocks")
    [outcome] = await delivery.deliver_due()
    assert outcome.result == "delivered"
    [message] = fake_slack.posted("C0BUSY")
    assert "a1" in message["text"] and "blocks" not in message


async def test_a_row_that_keeps_failing_inside_the_bot_is_set_aside_not_retried_forever(
    store: Store, database_url: str, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    await queue(store, clock, "C0BUSY", ["a1"])
    await queue(store, clock, "C0BUSY", ["a2"])
    # A damaged ledger row (as a bad manual edit or a bug would leave it).
    engine = engine_for(database_url)
    async with engine.begin() as connection:
        await connection.execute(text("UPDATE alerts SET details = '{}' WHERE subject = 'a1'"))
    await engine.dispose()
    delivery = Delivery(
        store, sender_for(fake_slack, clock), clock=clock.now, per_channel_interval=0
    )
    with caplog.at_level(logging.ERROR):
        for _ in range(MAX_INTERNAL_FAILURES):
            await delivery.deliver_due()
            clock.advance(minutes=15)
    [failed_item] = await store.outbox_items(states=["failed"])
    assert failed_item.last_error is not None and "internal errors" in failed_item.last_error
    assert any("delivering an alert failed" in r.getMessage() for r in caplog.records)
    # The channel's queue moves on to the next message.
    await delivery.drain()
    assert ["a2" in m["text"] for m in fake_slack.posted("C0BUSY")] == [True]


async def finish_start_backup(
    store: Store, clock: FakeClock, alert_id: int, note: dict[str, Any]
) -> None:
    """A Start backup pressed on the alert, whose thread note is `note`."""
    who = Requester("U0ADMIN", "C0BUSY")
    await store.finish_write(
        alert_id,
        AuditAction.START_BACKUP.value,
        ok=True,
        result="started backup manual-1",
        now=clock.now(),
        audit=who.audit(AuditAction.START_BACKUP, "addon orders-db", clock.now()),
        thread_note=note,
        channel="C0BUSY",
    )


async def test_a_note_is_rendered_when_it_is_posted_in_its_alerts_thread(
    store: Store, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    [alert_id] = await queue(store, clock, "C0BUSY", ["a1"])
    delivery = Delivery(
        store, sender_for(fake_slack, clock), clock=clock.now, per_channel_interval=0
    )
    await delivery.drain()
    [alert] = fake_slack.posted("C0BUSY")
    note = WriteResultNote(AuditAction.START_BACKUP, "U0ADMIN", failed("a1", clock))
    await finish_start_backup(store, clock, alert_id, note_to_json(note))
    await delivery.drain()
    reply = fake_slack.posted("C0BUSY")[-1]
    assert reply["thread_ts"] == alert["ts"]
    assert reply["text"] == "<@U0ADMIN> started a new backup of addon orders-db."


async def test_a_note_an_earlier_version_queued_rendered_is_posted_as_it_was(
    store: Store, fake_slack: FakeSlack
) -> None:
    # An outbox left by the version before notes were data holds the message itself.
    clock = FakeClock()
    [alert_id] = await queue(store, clock, "C0BUSY", ["a1"])
    delivery = Delivery(
        store, sender_for(fake_slack, clock), clock=clock.now, per_channel_interval=0
    )
    await delivery.drain()
    legacy = {"text": "started, as rendered before", "blocks": [{"type": "divider"}]}
    await finish_start_backup(store, clock, alert_id, legacy)
    [outcome] = await delivery.drain()
    assert outcome.result == "delivered"
    reply = fake_slack.posted("C0BUSY")[-1]
    assert (reply["text"], reply["blocks"]) == (legacy["text"], legacy["blocks"])


async def test_pacing_holds_across_a_restart(store: Store, fake_slack: FakeSlack) -> None:
    # A process posts to a channel and dies; the next one starts at once. The store
    # says when the channel last heard from the bot, so the second message still
    # waits its turn, on any replica and in a crash loop.
    clock = FakeClock()
    await queue(store, clock, "C0BUSY", ["a1"], ["a2"])
    first_life = Delivery(
        store, sender_for(fake_slack, clock), clock=clock.now, per_channel_interval=1.0
    )
    assert len(await first_life.deliver_due()) == 1
    second_life = Delivery(
        store, sender_for(fake_slack, clock), clock=clock.now, per_channel_interval=1.0
    )
    assert await second_life.deliver_due() == []
    clock.advance(seconds=1)
    assert [o.result for o in await second_life.deliver_due()] == ["delivered"]
    assert len(fake_slack.posted("C0BUSY")) == 2
