"""End to end: signed requests to the running app's /slack/events, the fake
Northflank behind it, replies caught by the fake Slack's response_url."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.slack.conftest import RunningBot

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ROW = re.compile(r"^:[a-z_]+: \*(?P<status>[^*]+)\*  (?P<name>\S+)", re.MULTILINE)


def seed(fake: FakeNorthflank, count: int, *, failed_every: int = 0) -> list[str]:
    fake.add_destination("dest-1", "Primary")
    names = [f"backup-{i:03d}" for i in range(count)]
    fake.add_backups(
        "dest-1",
        [
            make_backup(
                name,
                name=name,
                created_at=T0 + timedelta(minutes=i),
                status="failed" if failed_every and i % failed_every == 0 else "completed",
            )
            for i, name in enumerate(names)
        ],
    )
    return names[::-1]


def rows(payload: dict[str, Any]) -> list[tuple[str, str]]:
    sections = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    return [(m["status"], m["name"]) for s in sections for m in ROW.finditer(s)]


def next_button(payload: dict[str, Any]) -> str | None:
    for block in payload["blocks"]:
        if block["type"] == "actions":
            (button,) = block["elements"]
            assert button["action_id"] == NEXT_PAGE_ACTION
            return str(button["value"])
    return None


def text_of(payload: dict[str, Any]) -> str:
    return json.dumps(payload["blocks"])


async def test_list_answers_the_first_page_ephemerally(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    names = seed(fake_northflank, 30)
    ack, reply = await bot.slash("list dest-1")
    # An empty 200 is the ack; the listing follows through response_url.
    # (How fast both come is measured by bench/, not asserted here.)
    assert ack.status_code == 200
    assert ack.content == b""
    assert reply.payload["response_type"] == "ephemeral"
    assert reply.payload["blocks"][0]["text"]["text"] == "Backups in Primary"
    assert [name for _, name in rows(reply.payload)] == names[:10]
    assert next_button(reply.payload) is not None


async def test_next_walks_every_page_without_gaps_or_repeats(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    names = seed(fake_northflank, 47)
    _, reply = await bot.slash("list Primary limit=7")
    seen = [name for _, name in rows(reply.payload)]
    pages = 1
    while (value := next_button(reply.payload)) is not None:
        ack, reply = await bot.press(NEXT_PAGE_ACTION, value)
        assert ack.status_code == 200
        assert reply.payload["replace_original"] is True
        seen += [name for _, name in rows(reply.payload)]
        pages += 1
    assert seen == names
    assert pages == 7


async def test_filters_scan_further_pages(bot: RunningBot, fake_northflank: FakeNorthflank) -> None:
    names = seed(fake_northflank, 350, failed_every=50)
    _, reply = await bot.slash("list dest-1 status=failed limit=20")
    found = rows(reply.payload)
    assert found == [("failed", n) for n in names if int(n[-3:]) % 50 == 0]
    assert "filter: status=failed" in text_of(reply.payload)
    assert "350 scanned" in text_of(reply.payload)


async def test_destinations_and_help(bot: RunningBot, fake_northflank: FakeNorthflank) -> None:
    seed(fake_northflank, 1)
    fake_northflank.add_destination("dest-2", "Archive")
    _, reply = await bot.slash("destinations")
    assert "*Primary*  `dest-1`" in text_of(reply.payload)
    assert "*Archive*  `dest-2`" in text_of(reply.payload)
    _, reply = await bot.slash("help")
    assert "/backups list DEST status=failed,aborted" in reply.payload["text"]


async def test_list_without_a_destination_uses_the_only_one(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    names = seed(fake_northflank, 3)
    _, reply = await bot.slash("list")
    assert [n for _, n in rows(reply.payload)] == names


async def test_list_without_a_destination_when_the_token_sees_none(bot: RunningBot) -> None:
    _, reply = await bot.slash("list")
    assert "can't see any backup destinations" in reply.payload["text"]


async def test_list_without_a_destination_asks_which_when_there_are_several(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 3)
    fake_northflank.add_destination("dest-2", "Archive")
    _, reply = await bot.slash("list")
    assert "Which destination? The token can see 2" in reply.payload["text"]


@pytest.mark.parametrize(
    ("setup", "text", "expected"),
    [
        (lambda f: None, "list nope", "I can't find the destination `nope`"),
        (lambda f: f.forbid("dest-1"), "list dest-1", "isn't allowed to read"),
        (lambda f: f.fail_next("503", times=20), "list dest-1", "isn't answering properly"),
        (lambda f: f.fail_next("truncated", times=20), "list dest-1", "couldn't read"),
        (lambda f: None, "list dest-1 limit=500", "from 1 to 20"),
        (lambda f: None, "list dest-1 status=lost", "I don't know the status `lost`"),
        (lambda f: None, "restore everything", "I don't know the command `restore`"),
    ],
)
async def test_every_failure_gets_a_specific_ephemeral_answer(
    bot: RunningBot, fake_northflank: FakeNorthflank, setup: Any, text: str, expected: str
) -> None:
    seed(fake_northflank, 3)
    await bot.slash("destinations")  # warm the destinations cache before any fault
    setup(fake_northflank)
    ack, reply = await bot.slash(text)
    assert ack.status_code == 200
    assert reply.payload["response_type"] == "ephemeral"
    assert expected in reply.payload["text"]


async def test_malformed_text_costs_no_api_request(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 1)
    _, reply = await bot.slash("list dest-1 colour=blue")
    assert "has no option `colour`" in reply.payload["text"]
    assert fake_northflank.request_count() == 0


async def test_a_revoked_token_is_explained(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 1)
    fake_northflank.set_token("a-different-token")
    _, reply = await bot.slash("list dest-1")
    assert "rejected the bot's API token" in reply.payload["text"]


async def test_a_forged_next_button_is_refused_plainly(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 1)
    for value in ("not json", '{"d": "../auth", "l": 5}', '{"d": 1}', "[]"):
        _, reply = await bot.press(NEXT_PAGE_ACTION, value)
        text = reply.payload["text"]
        assert "can no longer continue" in text or "I can't find" in text
    assert all("/auth" not in r.path for r in fake_northflank.requests)


@pytest.mark.parametrize(
    ("secret", "clock_skew"),
    [("wrong-secret", 0), (None, -310), (None, 310)],
)
async def test_forged_or_stale_requests_are_rejected_and_ignored(
    bot: RunningBot, fake_northflank: FakeNorthflank, secret: str | None, clock_skew: int
) -> None:
    seed(fake_northflank, 1)
    sign_options: dict[str, Any] = {"timestamp": int(time.time()) + clock_skew}
    if secret is not None:
        sign_options["secret"] = secret
    from tests.slack.requests import slash_command_body

    body = slash_command_body("list dest-1", bot.slack.response_url("forged"))
    response = await bot.post_signed(body, **sign_options)
    assert response.status_code == 401
    assert fake_northflank.request_count() == 0
    assert bot.slack.responses == []


async def test_unsigned_requests_are_rejected(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    from tests.slack.requests import slash_command_body

    body = slash_command_body("list dest-1", bot.slack.response_url("unsigned"))
    response = await bot.http.post(
        bot.events_url, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 401
    assert fake_northflank.request_count() == 0


async def test_healthz(bot: RunningBot) -> None:
    response = await bot.http.get(f"http://127.0.0.1:{bot.server.port}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
