"""The Slack side of delivery: render, post, and read Slack's refusals into the port's errors.

Against the fake Slack over HTTP, as the running bot posts: a digest is
posted as Block Kit, joined into a channel the bot is not in, sent as plain
text when Slack refuses its blocks, and every refusal becomes the error the
delivery pipeline decides on (bot/services/chat.py).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.backups import Destination
from bot.core.messages import AlertDigest, AlertView, PreparedMessage, WatchAnnouncement
from bot.core.watches import Event, WatchSettings
from bot.services.chat import (
    CannotJoin,
    ChannelGone,
    ChatError,
    CredentialsRejected,
    EditImpossible,
    MessageRefused,
    RateLimited,
    Unavailable,
)
from bot.slack.sender import SlackSender
from tests.fakes.slack import DEFAULT_TOKEN, FakeSlack
from tests.slack.render.examples import CONTEXT, make_alert

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CHANNEL = "C0ALERTS"
ANNOUNCEMENT = WatchAnnouncement(Destination("dest-1", "Nightly"), WatchSettings(), "U0ADMIN")


@pytest.fixture
def sender(fake_slack: FakeSlack) -> SlackSender:
    client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake_slack.api_url)
    return SlackSender(client, clock=lambda: NOW)


def digest() -> AlertDigest:
    return AlertDigest((AlertView(make_alert(Event.FAILED), alert_id=7),), CONTEXT)


async def test_a_digest_is_posted_as_block_kit_and_its_ts_returned(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    ts = await sender.post(CHANNEL, digest())
    (posted,) = fake_slack.posted(CHANNEL)
    assert posted["ts"] == ts
    assert posted["text"].startswith("Backup failed: nightly-orders")
    assert any(block["type"] == "actions" for block in posted["blocks"])
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.params["unfurl_links"] is False and call.params["unfurl_media"] is False


async def test_a_reply_goes_into_its_thread(sender: SlackSender, fake_slack: FakeSlack) -> None:
    parent = await sender.post(CHANNEL, digest())
    await sender.post(CHANNEL, ANNOUNCEMENT, thread_ts=parent)
    reply = fake_slack.posted(CHANNEL)[-1]
    assert reply["thread_ts"] == parent and "asked me to watch" in reply["text"]


async def test_a_message_an_earlier_version_rendered_is_posted_as_it_is(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    legacy = {"text": "rendered before", "blocks": [{"type": "divider"}]}
    await sender.post(CHANNEL, PreparedMessage(legacy))
    (posted,) = fake_slack.posted(CHANNEL)
    assert (posted["text"], posted["blocks"]) == ("rendered before", [{"type": "divider"}])


async def test_not_in_the_channel_it_joins_and_posts(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", "not_in_channel")
    await sender.post(CHANNEL, digest())
    assert len(fake_slack.calls_to("conversations.join")) == 1
    assert len(fake_slack.posted(CHANNEL)) == 1


async def test_a_channel_it_cannot_join_is_cannot_join(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", "not_in_channel")
    fake_slack.fail_next("conversations.join", "method_not_supported_for_channel_type")
    with pytest.raises(CannotJoin) as refused:
        await sender.post(CHANNEL, digest())
    assert refused.value.code == "method_not_supported_for_channel_type"
    assert fake_slack.posted(CHANNEL) == []


async def test_refused_blocks_go_out_as_plain_text(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", "invalid_blocks")
    await sender.post(CHANNEL, digest())
    (posted,) = fake_slack.posted(CHANNEL)
    assert "blocks" not in posted and posted["text"].startswith("Backup failed")


@pytest.mark.parametrize(
    ("fault", "error", "words"),
    [
        ("429", RateLimited, "rate limited by Slack"),
        ("500", Unavailable, "Slack answered 500"),
        ("channel_not_found", ChannelGone, "the channel no longer exists"),
        ("is_archived", ChannelGone, "the channel is archived"),
        ("invalid_auth", CredentialsRejected, "Slack rejects SLACK_BOT_TOKEN (invalid_auth)"),
        ("token_revoked", CredentialsRejected, "(token_revoked)"),
        ("no_text", MessageRefused, "Slack refused it: no_text"),
        ("fatal_error", ChatError, "Slack error: fatal_error"),
    ],
)
async def test_each_refusal_is_the_error_delivery_decides_on(
    sender: SlackSender, fake_slack: FakeSlack, fault: str, error: type[ChatError], words: str
) -> None:
    fake_slack.fail_next("chat.postMessage", fault)
    with pytest.raises(ChatError) as refused:
        await sender.post(CHANNEL, digest())
    assert type(refused.value) is error
    assert words in str(refused.value)


async def test_a_429_carries_slacks_retry_after(fake_slack: FakeSlack) -> None:
    with FakeSlack(retry_after=7) as slow:
        client = AsyncWebClient(token=DEFAULT_TOKEN, base_url=slow.api_url)
        slow.fail_next("chat.postMessage", "429")
        with pytest.raises(RateLimited) as limited:
            await SlackSender(client, clock=lambda: NOW).post(CHANNEL, digest())
    assert limited.value.retry_after == 7.0


async def test_blocks_refused_twice_are_a_refused_message(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", "msg_too_long", times=2)
    with pytest.raises(MessageRefused):
        await sender.post(CHANNEL, digest())


async def test_an_edit_shows_the_digest_in_place_and_a_gone_message_is_edit_impossible(
    sender: SlackSender, fake_slack: FakeSlack
) -> None:
    ts = await sender.post(CHANNEL, digest())
    resolved = AlertDigest(
        (AlertView(make_alert(Event.FAILED), resolved_at=NOW, alert_id=7),), CONTEXT
    )
    await sender.edit(CHANNEL, ts, resolved)
    message = fake_slack.message(CHANNEL, ts)
    assert message is not None and message["text"].startswith("Resolved: Backup failed")
    fake_slack.fail_next("chat.update", "message_not_found")
    with pytest.raises(EditImpossible):
        await sender.edit(CHANNEL, ts, resolved)
    fake_slack.fail_next("chat.update", "500")
    with pytest.raises(Unavailable):
        await sender.edit(CHANNEL, ts, resolved)


async def test_a_dead_network_is_unavailable() -> None:
    client = AsyncWebClient(token=DEFAULT_TOKEN, base_url="http://127.0.0.1:9/api/", timeout=2)
    with pytest.raises(Unavailable) as refused:
        await SlackSender(client, clock=lambda: NOW).post(CHANNEL, digest())
    assert str(refused.value).startswith("network: ")
