"""Forged or stale requests get a 401, and nothing at all is done for them.

tests/slack/test_backups_command.py already shows a wrong secret, a stale
timestamp (either way) and a missing signature on `/backups list`. Here every
way a signature can be wrong meets every kind of request, including the ones
that would change something (`watch`) or press a button; afterwards the
after-ack queue is drained and the fake Northflank, the fake Slack and the
store are checked for any trace of work.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from urllib.parse import urlencode

import pytest

from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.slack.conftest import RunningBot
from tests.slack.requests import button_body, sign, slash_command_body

Headers = dict[str, str]
CHANNEL = "C0CHAN"  # where slash_command_body and button_body say they come from
NEXT_VALUE = json.dumps({"d": "dest-1", "c": None, "k": 0, "s": [], "a": None, "l": 5})

# What each kind of request would do if it got through.
REQUESTS: dict[str, Callable[[str], str]] = {
    "/backups watch": lambda url: slash_command_body("watch dest-1", url),
    "/backups list": lambda url: slash_command_body("list dest-1", url),
    "Next page": lambda url: button_body(NEXT_PAGE_ACTION, NEXT_VALUE, url),
    "an unknown button": lambda url: button_body("retain_backup", "b1", url),
}


def _without(headers: Headers, *names: str) -> Headers:
    return {k: v for k, v in headers.items() if k not in names}


def _changed(body: str) -> str:
    # Someone else's user id: the change an attacker would most want to make.
    changed = body.replace("U0USER", "U0ADMIN")
    assert changed != body
    return changed


def forgeries(body: str) -> dict[str, tuple[str, Headers]]:
    """Each way to get the signature wrong: (the body sent, the headers sent)."""
    now = int(time.time())
    good = sign(body)
    signature = good["X-Slack-Signature"]
    return {
        "signed with another secret": (body, sign(body, secret="not-the-signing-secret")),
        "six minutes old": (body, sign(body, timestamp=now - 360)),
        "six minutes ahead": (body, sign(body, timestamp=now + 360)),
        "no timestamp header": (body, _without(good, "X-Slack-Request-Timestamp")),
        "no signature header": (body, _without(good, "X-Slack-Signature")),
        "neither header": (body, _without(good, "X-Slack-Request-Timestamp", "X-Slack-Signature")),
        "timestamp changed after signing": (
            body,
            {**good, "X-Slack-Request-Timestamp": str(now - 1)},
        ),
        "body changed after signing": (_changed(body), good),
        "body extended after signing": (body + "&user_id=U0ADMIN", good),
        "another scheme (v1=)": (body, {**good, "X-Slack-Signature": "v1=" + signature[3:]}),
        "empty signature": (body, {**good, "X-Slack-Signature": ""}),
        "truncated signature": (body, {**good, "X-Slack-Signature": signature[:-1]}),
    }


async def _assert_nothing_was_done(bot: RunningBot, fake_northflank: FakeNorthflank) -> None:
    # Everything acked has been answered once the queue is stopped; nothing may have been.
    await bot.server.after_ack.stop()
    assert fake_northflank.requests == []
    assert fake_northflank.writes == []
    assert bot.slack.responses == []
    assert bot.slack.posted() == []
    assert await bot.server.store.channel_watches(CHANNEL) == []


def _seed(fake: FakeNorthflank) -> None:
    fake.add_destination("dest-1", "Primary")
    fake.add_destination("dest-2", "Secondary")
    fake.add_backups("dest-1", [make_backup(f"b{i}") for i in range(8)])


@pytest.mark.parametrize("kind", sorted(REQUESTS))
async def test_forged_and_stale_requests_get_401_and_nothing_is_done(
    bot: RunningBot, fake_northflank: FakeNorthflank, kind: str
) -> None:
    _seed(fake_northflank)
    body = REQUESTS[kind](bot.slack.response_url("forged"))
    for forgery, (sent, headers) in forgeries(body).items():
        response = await bot.http.post(bot.events_url, content=sent, headers=headers)
        assert response.status_code == 401, (forgery, response.status_code, response.text)
    await _assert_nothing_was_done(bot, fake_northflank)


@pytest.mark.parametrize("kind", sorted(REQUESTS))
async def test_the_same_requests_signed_properly_are_answered(
    bot: RunningBot, fake_northflank: FakeNorthflank, kind: str
) -> None:
    """The control: without it, "nothing was done" could mean the requests never worked."""
    _seed(fake_northflank)
    ack = await bot.post_signed(REQUESTS[kind](bot.slack.response_url("genuine")))
    assert ack.status_code == 200
    reply = await bot.reply_to("genuine")
    assert reply.payload["text"]


# Headers Bolt cannot even read: it answers 500 and logs a traceback, before any
# of our code runs. The fix belongs in bot/slack/http_endpoint.py (see the report).
UNREADABLE_HEADERS = {
    "timestamp not a number": [(b"X-Slack-Request-Timestamp", b"soon")],
    "empty timestamp": [(b"X-Slack-Request-Timestamp", b"")],
    "signature not ASCII": [(b"X-Slack-Signature", "v0=é".encode())],
}


@pytest.mark.parametrize("forgery", sorted(UNREADABLE_HEADERS))
async def test_headers_bolt_cannot_read_get_401_too(
    bot: RunningBot, fake_northflank: FakeNorthflank, forgery: str
) -> None:
    _seed(fake_northflank)
    body = slash_command_body("watch dest-1", bot.slack.response_url("forged"))
    good = sign(body)
    replaced = {name.decode().lower() for name, _ in UNREADABLE_HEADERS[forgery]}
    headers = [
        (name.encode(), value.encode())
        for name, value in good.items()
        if name.lower() not in replaced
    ] + UNREADABLE_HEADERS[forgery]
    response = await bot.http.post(bot.events_url, content=body, headers=headers)
    assert response.status_code == 401, response.text
    await _assert_nothing_was_done(bot, fake_northflank)


@pytest.mark.parametrize("payload", ["not json", "[1, 2]", '{"type": "block_actions", "user": 5}'])
async def test_a_forged_request_with_an_unreadable_body_gets_401_too(
    bot: RunningBot, fake_northflank: FakeNorthflank, payload: str
) -> None:
    _seed(fake_northflank)
    body = urlencode({"payload": payload})
    response = await bot.post_signed(body, secret="not-the-signing-secret")
    assert response.status_code == 401, response.text
    await _assert_nothing_was_done(bot, fake_northflank)
