"""End to end in Socket Mode: the running bot holds a real websocket to the fake Slack,
which delivers envelopes over it and reads back the acks; replies still go to response_url.

Slack sends the same request in Socket Mode as over HTTP, only as JSON inside an envelope:
a slash command's form fields become a JSON object, a button's ``payload`` form field
becomes the envelope's payload itself. The helpers below derive both from the signed HTTP
bodies in tests.slack.requests, so the two modes are exercised with identical requests.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.runtime.server import BotServer
from bot.runtime.settings import BotSettings, load
from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.clock import FakeClock
from tests.fakes.northflank import DEFAULT_TOKEN as NF_TOKEN
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import DEFAULT_APP_TOKEN, FakeSlack, ResponseUrlPost
from tests.fakes.slack import DEFAULT_TOKEN as SLACK_TOKEN
from tests.slack.requests import button_body, home_opened_body, slash_command_body
from tests.slack.test_backups_command import next_button, rows

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACK_DEADLINE = 3.0  # Slack retries an envelope that is not acked within 3 s

_keys = itertools.count()


def socket_mode_settings(fake_northflank: FakeNorthflank, fake_slack: FakeSlack) -> BotSettings:
    # An app token and no signing secret: Socket Mode requests are not signed.
    return load(
        BotSettings,
        # _env_file=None: a developer's own .env must not leak into the tests.
        _env_file=None,
        slack_bot_token=SLACK_TOKEN,
        slack_app_token=DEFAULT_APP_TOKEN,
        slack_api_url=fake_slack.api_url,
        northflank_api_token=NF_TOKEN,
        northflank_api_base_url=fake_northflank.url,
        port=0,
    )


def slash_payload(text: str, response_url: str) -> dict[str, Any]:
    return dict(parse_qsl(slash_command_body(text, response_url)))


def button_payload(action_id: str, value: str, response_url: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(
        dict(parse_qsl(button_body(action_id, value, response_url)))["payload"]
    )
    return payload


def seed(fake: FakeNorthflank, count: int) -> list[str]:
    """``count`` backups in dest-1 ("Primary"); returns their names newest first."""
    fake.add_destination("dest-1", "Primary")
    names = [f"backup-{i:03d}" for i in range(count)]
    fake.add_backups(
        "dest-1",
        [
            make_backup(name, name=name, created_at=T0 + timedelta(minutes=i))
            for i, name in enumerate(names)
        ],
    )
    return names[::-1]


async def acked_and_answered(
    fake_slack: FakeSlack, envelope_type: str, payload_for: Any, **envelope: Any
) -> tuple[dict[str, Any], ResponseUrlPost]:
    """Send one envelope; check it is acked in time; return the ack and the reply."""
    key = f"sock-{next(_keys)}"
    payload = payload_for(fake_slack.response_url(key))
    earlier = len(fake_slack.responses)
    started = time.monotonic()
    envelope_id = fake_slack.send_envelope(envelope_type, payload, **envelope)
    ack = await fake_slack.await_socket_ack(envelope_id, timeout=ACK_DEADLINE)
    assert time.monotonic() - started < ACK_DEADLINE
    assert ack["envelope_id"] == envelope_id
    # Nothing else posts to response_url meanwhile: the next post is this one's reply.
    responses = await fake_slack.await_responses(earlier + 1)
    [reply] = responses[earlier:]
    assert reply.key == key
    return ack, reply


@pytest.fixture
async def socket_bot(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack
) -> AsyncIterator[BotServer]:
    server = BotServer(socket_mode_settings(fake_northflank, fake_slack), host="127.0.0.1")
    try:
        await server.start()
        await fake_slack.await_socket_connections(1)
        yield server
    finally:
        await server.stop()


async def test_slash_command_is_acked_over_the_socket_and_answered(
    socket_bot: BotServer, fake_slack: FakeSlack, fake_northflank: FakeNorthflank
) -> None:
    names = seed(fake_northflank, 30)

    ack, reply = await acked_and_answered(
        fake_slack, "slash_commands", lambda url: slash_payload("list dest-1", url)
    )

    assert ack == {"envelope_id": ack["envelope_id"]}  # an empty ack: the reply comes later
    assert reply.payload["response_type"] == "ephemeral"
    assert reply.payload["blocks"][0]["text"]["text"] == "Backups in Primary"
    assert [name for _, name in rows(reply.payload)] == names[:10]
    assert len(fake_slack.calls_to("apps.connections.open")) == 1


async def test_next_page_button_arrives_as_an_interactive_envelope(
    socket_bot: BotServer, fake_slack: FakeSlack, fake_northflank: FakeNorthflank
) -> None:
    names = seed(fake_northflank, 15)
    _, first = await acked_and_answered(
        fake_slack, "slash_commands", lambda url: slash_payload("list dest-1", url)
    )
    value = next_button(first.payload)
    assert value is not None

    # Slack sends block_actions with accepts_response_payload false: the ack carries nothing.
    ack, second = await acked_and_answered(
        fake_slack,
        "interactive",
        lambda url: button_payload(NEXT_PAGE_ACTION, value, url),
        accepts_response_payload=False,
    )

    assert "payload" not in ack
    assert second.payload["replace_original"] is True
    assert [name for _, name in rows(second.payload)] == names[10:]
    assert next_button(second.payload) is None


async def test_bot_reconnects_after_slack_asks_it_to_and_still_answers(
    socket_bot: BotServer, fake_slack: FakeSlack, fake_northflank: FakeNorthflank
) -> None:
    names = seed(fake_northflank, 3)

    assert fake_slack.disconnect_sockets() == 1
    await fake_slack.await_socket_connections(1)
    _, reply = await acked_and_answered(
        fake_slack, "slash_commands", lambda url: slash_payload("list dest-1", url)
    )

    assert [name for _, name in rows(reply.payload)] == names
    assert len(fake_slack.calls_to("apps.connections.open")) == 2
    # The ack came over the new socket, not the one that was told to go.
    assert fake_slack.socket_messages[-1].connection == 2


async def test_healthz_answers_in_socket_mode_and_there_is_no_events_endpoint(
    socket_bot: BotServer,
) -> None:
    base = f"http://127.0.0.1:{socket_bot.port}"
    async with httpx.AsyncClient(timeout=5.0) as http:
        health = await http.get(f"{base}/healthz")
        events = await http.post(f"{base}/slack/events", content="{}")

    assert (health.status_code, health.json()["status"]) == (200, "ok")
    assert events.status_code == 404


async def test_stop_closes_the_socket_promptly(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack
) -> None:
    server = BotServer(socket_mode_settings(fake_northflank, fake_slack), host="127.0.0.1")
    try:
        await server.start()
        await fake_slack.await_socket_connections(1)
    finally:
        started = time.monotonic()
        await server.stop()
    assert time.monotonic() - started < 2.0
    # The fake notices the close on its own thread, a moment after the bot's close returns.
    while fake_slack.socket_connection_count:
        assert time.monotonic() - started < 2.0, "the socket is still open"
        await asyncio.sleep(0.01)


async def test_socket_mode_acks_are_timed_in_metrics_by_kind(
    socket_bot: BotServer, fake_slack: FakeSlack, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 3)
    await acked_and_answered(fake_slack, "slash_commands", lambda url: slash_payload("help", url))
    await acked_and_answered(
        fake_slack,
        "interactive",
        lambda url: button_payload(NEXT_PAGE_ACTION, "not-a-cursor", url),
    )
    async with httpx.AsyncClient(timeout=5.0) as http:
        text = (await http.get(f"http://127.0.0.1:{socket_bot.port}/metrics")).text

    assert 'backupbot_slack_ack_seconds_count{kind="command"} 1.0' in text
    assert 'backupbot_slack_ack_seconds_count{kind="interaction"} 1.0' in text
    assert "backupbot_slack_reply_seconds_count 2.0" in text


async def _until(found: Any, *, limit: float = 10.0) -> Any:
    for _ in range(int(limit / 0.02)):
        value = found()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


async def test_alert_buttons_work_over_the_socket(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, database_url: str
) -> None:
    """The buttons on an alert, pressed over Socket Mode: acked in time, and they act."""
    user, channel = "U0USER", "C0CHAN"  # who and where the request helpers press from
    settings = load(
        BotSettings,
        _env_file=None,
        slack_bot_token=SLACK_TOKEN,
        slack_app_token=DEFAULT_APP_TOKEN,
        slack_api_url=fake_slack.api_url,
        northflank_api_token=NF_TOKEN,
        northflank_api_base_url=fake_northflank.url,
        database_url=database_url,
        bot_admins=user,
        port=0,
    )
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups("dest-1", [])
    server = BotServer(settings, host="127.0.0.1", schedule_polls=False)
    try:
        await server.start()
        await fake_slack.await_socket_connections(1)
        await acked_and_answered(
            fake_slack, "slash_commands", lambda url: slash_payload("watch dest-1", url)
        )
        fake_northflank.add_backups(
            "dest-1",
            [make_backup("b1", name="nightly", status="failed", created_at=datetime.now(UTC))],
        )
        # `watch` has just read the destination; poll it again now rather than in 5 minutes.
        await server.poller.poll_all(force=True)
        alert = await _until(
            lambda: next((m for m in fake_slack.posted(channel) if "nightly" in m["text"]), None)
        )
        values = {
            element["action_id"]: element.get("value")
            for block in alert["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
        }

        for action_id in ("alert_acknowledge", "alert_start_backup"):
            payload = button_payload(action_id, values[action_id], fake_slack.response_url("x"))
            started = time.monotonic()
            envelope_id = fake_slack.send_envelope("interactive", payload)
            await fake_slack.await_socket_ack(envelope_id, timeout=ACK_DEADLINE)
            assert time.monotonic() - started < ACK_DEADLINE

        edited = await _until(
            lambda: "Acknowledged by" in json.dumps(fake_slack.message(channel, alert["ts"]))
        )
        assert edited
        reply = await _until(
            lambda: [m for m in fake_slack.posted(channel) if m.get("thread_ts") == alert["ts"]]
        )
        assert f"<@{user}>" in json.dumps(reply[0])
        assert [w.action for w in fake_northflank.writes] == ["start"]
    finally:
        await server.stop()


async def test_healthz_turns_503_once_the_socket_has_been_down_a_minute(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack
) -> None:
    clock = FakeClock(T0)
    server = BotServer(
        socket_mode_settings(fake_northflank, fake_slack),
        host="127.0.0.1",
        clock=clock.now,
        schedule_polls=False,
    )
    try:
        await server.start()
        await fake_slack.await_socket_connections(1)
        async with httpx.AsyncClient() as http:
            url = f"http://127.0.0.1:{server.port}/healthz"
            up = (await http.get(url)).json()
            assert up["socket_mode"] == {"connected": True, "down_since": None}
            # Slack asks the app to reconnect, and is slow to hand it a new socket.
            fake_slack.set_latency("apps.connections.open", 1.5)
            fake_slack.disconnect_sockets(grace=0)
            down = await _health_until(http, url, lambda body: not body["socket_mode"]["connected"])
            # Down, but a reconnect may still come: healthy for a minute.
            assert down.status_code == 200 and down.json()["socket_mode"]["down_since"]
            clock.advance(seconds=61)
            late = await http.get(url)
            assert late.status_code == 503
            assert "Socket Mode connection to Slack has been down for 1m 1s" in str(
                late.json()["reasons"]
            )
            # The new socket arrives: healthy again at once, the outage forgotten.
            back = await _health_until(http, url, lambda body: body["socket_mode"]["connected"])
            assert back.status_code == 200
            assert back.json()["socket_mode"] == {"connected": True, "down_since": None}
    finally:
        await server.stop()


async def _health_until(
    http: httpx.AsyncClient, url: str, wanted: Callable[[dict[str, Any]], bool]
) -> httpx.Response:
    """GET /healthz until its body shows what the test waits for (5 s at most)."""
    for _ in range(100):
        response = await http.get(url)
        if wanted(response.json()):
            return response
        await asyncio.sleep(0.05)
    raise AssertionError(f"/healthz never showed it: {response.json()}")


async def test_the_home_tab_is_published_when_opened_over_the_socket(
    socket_bot: BotServer, fake_slack: FakeSlack, fake_northflank: FakeNorthflank
) -> None:
    # The manifest subscribes to app_home_opened; in Socket Mode it comes as an
    # events_api envelope, is acked, and the view is published through views.publish.
    seed(fake_northflank, 3)
    await socket_bot.store.save_watch(
        "C0OPS", Destination("dest-1", "Primary"), WatchSettings(), "U0ADMIN", T0
    )
    event = json.loads(home_opened_body("U0HOME"))
    envelope_id = fake_slack.send_envelope("events_api", event)
    await fake_slack.await_socket_ack(envelope_id, timeout=ACK_DEADLINE)
    view = await fake_slack.await_home_view("U0HOME", timeout=10)
    assert view["type"] == "home"
    assert "*Primary* `dest-1`" in json.dumps(view)
    assert "<#C0OPS>" in json.dumps(view)
