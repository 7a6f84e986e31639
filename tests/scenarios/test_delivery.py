"""Delivery: exactly once across restarts and crashes, through 429s, in digests, into
channels the bot is not in, and never silently lost."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from bot.core.digests import MAX_ALERTS_PER_MESSAGE
from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import CHANNEL, Scenario, reply_text

DEST = "dest-1"


async def watched_destination(scenario: Scenario, channel: str = CHANNEL) -> None:
    scenario.northflank.add_destination(DEST, "Nightly S3")
    await scenario.slash(f"watch {DEST}", channel=channel)
    scenario.clock.advance(minutes=5)


def fail_backups(scenario: Scenario, *names: str) -> None:
    now = scenario.clock.now()
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(name, name=name, status="failed", created_at=now - timedelta(seconds=i))
            for i, name in enumerate(names)
        ],
    )


def mentions(scenario: Scenario, name: str, channel: str = CHANNEL) -> int:
    """How many alert messages in the channel name this backup."""
    return sum(name in reply_text(m) for m in scenario.alerts_posted(channel))


async def test_a_restart_posts_nothing_twice(scenario: Scenario) -> None:
    await watched_destination(scenario)
    fail_backups(scenario, "restart-a")
    await scenario.poll()
    assert mentions(scenario, "restart-a") == 1

    await scenario.restart()
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    await scenario.restart()
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert mentions(scenario, "restart-a") == 1


async def test_an_alert_recorded_but_not_posted_before_a_crash_is_posted_once_after(
    scenario: Scenario,
) -> None:
    await watched_destination(scenario)
    fail_backups(scenario, "crash-a")
    # The poll writes the ledger and the outbox, and the process dies before delivering.
    await scenario.bot.poller.poll_all()
    assert mentions(scenario, "crash-a") == 0
    await scenario.restart()

    await scenario.deliver()
    assert mentions(scenario, "crash-a") == 1
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    await scenario.deliver()
    assert mentions(scenario, "crash-a") == 1


async def test_a_429_storm_from_slack_loses_nothing_and_keeps_order(scenario: Scenario) -> None:
    await watched_destination(scenario)
    fail_backups(scenario, "storm-a")
    scenario.slack.fail_next("chat.postMessage", "429", times=6)
    await scenario.poll()
    assert mentions(scenario, "storm-a") == 0

    scenario.clock.advance(minutes=1)
    fail_backups(scenario, "storm-b")
    await scenario.poll()
    # Each pass waits out Retry-After on the test's clock, then tries again.
    for _ in range(10):
        scenario.clock.advance(seconds=5)
        await scenario.deliver()
    assert mentions(scenario, "storm-a") == 1
    assert mentions(scenario, "storm-b") == 1
    bodies = [reply_text(m) for m in scenario.alerts_posted()]
    first_a = next(i for i, b in enumerate(bodies) if "storm-a" in b)
    first_b = next(i for i, b in enumerate(bodies) if "storm-b" in b)
    assert first_a < first_b
    assert await scenario.bot.store.outbox_depth() == 0


async def test_a_5xx_from_slack_is_retried_with_backoff(scenario: Scenario) -> None:
    await watched_destination(scenario)
    fail_backups(scenario, "flaky-a")
    scenario.slack.fail_next("chat.postMessage", "500", times=2)
    await scenario.poll()
    assert mentions(scenario, "flaky-a") == 0
    [item] = await scenario.bot.store.outbox_items(states=["pending"])
    assert item.attempts == 1 and item.next_attempt_at > scenario.clock.now()
    for _ in range(5):
        scenario.clock.advance(minutes=1)
        await scenario.deliver()
    assert mentions(scenario, "flaky-a") == 1


async def test_a_burst_of_200_failures_arrives_as_digests_within_slack_limits(
    scenario: Scenario,
) -> None:
    await watched_destination(scenario)
    names = [f"burst-{i:03d}" for i in range(200)]
    fail_backups(scenario, *names)
    await scenario.poll()
    digests = scenario.alerts_posted()[1:]  # after the watch announcement
    assert len(digests) == -(-200 // MAX_ALERTS_PER_MESSAGE)
    for message in digests:
        blocks = message["blocks"]
        assert len(blocks) <= 50
        assert len(json.dumps(blocks)) < 12_000
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
    bodies = [reply_text(m) for m in digests]
    assert all(sum(name in body for body in bodies) == 1 for name in names)


async def test_not_in_channel_joins_and_posts(scenario: Scenario) -> None:
    await watched_destination(scenario)
    fail_backups(scenario, "join-a")
    scenario.slack.fail_next("chat.postMessage", "not_in_channel")
    await scenario.poll()
    assert len(scenario.slack.calls_to("conversations.join")) == 1
    assert mentions(scenario, "join-a") == 1


async def test_a_channel_the_bot_cannot_join_is_marked_broken_and_kept(
    scenario: Scenario,
) -> None:
    await watched_destination(scenario)
    fail_backups(scenario, "parked-a")
    scenario.slack.fail_next("chat.postMessage", "not_in_channel")
    scenario.slack.fail_next("conversations.join", "method_not_supported_for_channel_type")
    await scenario.poll()
    assert mentions(scenario, "parked-a") == 0
    watching = await scenario.slash("watching")
    assert "join" in watching.lower() and "invite" in watching.lower()
    assert await scenario.bot.store.outbox_depth() == 1

    # Someone invites the bot and runs watch again: the held alert goes out.
    await scenario.slash(f"watch {DEST}")
    await scenario.deliver()
    assert mentions(scenario, "parked-a") == 1


async def test_an_archived_channel_disables_its_watches_and_says_so_in_the_log(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    await watched_destination(scenario)
    fail_backups(scenario, "gone-a")
    scenario.slack.fail_next("chat.postMessage", "is_archived")
    with caplog.at_level(logging.WARNING):
        await scenario.poll()
    assert any("archived" in r.getMessage() for r in caplog.records)
    [watch] = await scenario.bot.store.channel_watches(CHANNEL)
    assert watch.state.value == "disabled"
    [failed] = await scenario.bot.store.outbox_items(states=["failed"])
    assert failed.last_error is not None and "archived" in failed.last_error
    # A disabled watch is not polled any more.
    scenario.clock.advance(minutes=5)
    scenario.northflank.clear_requests()
    await scenario.poll()
    assert scenario.northflank.request_count() == 0


async def test_a_muted_destination_records_but_does_not_post(scenario: Scenario) -> None:
    await watched_destination(scenario)
    reply = await scenario.slash(f"mute {DEST} 2h")
    assert "Muted" in reply
    fail_backups(scenario, "muted-a")
    await scenario.poll()
    assert mentions(scenario, "muted-a") == 0
    await scenario.slash(f"unmute {DEST}")
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    # What happened during the mute stays unposted; new failures are posted again.
    assert mentions(scenario, "muted-a") == 0
    scenario.clock.advance(minutes=5)
    fail_backups(scenario, "after-mute")
    await scenario.poll()
    assert mentions(scenario, "after-mute") == 1


async def test_two_channels_each_get_their_own_alert(scenario: Scenario) -> None:
    await watched_destination(scenario)
    await scenario.slash(f"watch {DEST}", channel="C0OTHER")
    scenario.clock.advance(minutes=5)
    fail_backups(scenario, "both-a")
    await scenario.poll()
    assert mentions(scenario, "both-a") == 1
    assert mentions(scenario, "both-a", channel="C0OTHER") == 1
