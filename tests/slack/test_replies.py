"""What happens around a reply: overload, Slack refusing it, and the CLI agreeing."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import httpx
import pytest

from bot.runtime.server import BotServer
from bot.slack.after_ack import AfterAck
from tests.fakes.northflank import DEFAULT_TOKEN as NF_TOKEN
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.processes import clean_env, run_bot
from tests.slack.conftest import RunningBot, bot_settings
from tests.slack.requests import sign, slash_command_body
from tests.slack.test_backups_command import rows, seed


async def test_an_overloaded_bot_says_so_in_the_ack(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack
) -> None:
    seed(fake_northflank, 3)
    fake_northflank.latency = 0.5
    server = BotServer(
        bot_settings(fake_northflank, fake_slack),
        host="127.0.0.1",
        after_ack=AfterAck(workers=1, capacity=1),
    )
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.port}/slack/events"
        async with httpx.AsyncClient() as http:
            acks = []
            for i in range(3):
                body = slash_command_body("list dest-1", fake_slack.response_url(f"k{i}"))
                acks.append(await http.post(url, content=body, headers=sign(body)))
                await asyncio.sleep(0.05)  # let the worker take the first job
        assert [a.status_code for a in acks] == [200, 200, 200]
        busy = acks[2].json()
        assert busy["response_type"] == "ephemeral"
        assert "try again in a minute" in busy["text"]
        replies = await fake_slack.await_responses(2, timeout=10)
        assert {r.key for r in replies} == {"k0", "k1"}
    finally:
        await server.stop()


async def test_a_refused_reply_is_logged_and_the_bot_carries_on(
    bot: RunningBot, fake_northflank: FakeNorthflank, caplog: pytest.LogCaptureFixture
) -> None:
    seed(fake_northflank, 2)
    bot.slack.fail_next("response_url", "expired_url")
    with caplog.at_level(logging.WARNING, logger="bot.slack.responder"):
        body = slash_command_body("list dest-1", bot.slack.response_url("expired"))
        assert (await bot.post_signed(body)).status_code == 200
        for _ in range(300):
            if any("Slack refused a reply" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.01)
    assert any("HTTP 404" in r.getMessage() for r in caplog.records)
    _, reply = await bot.slash("list dest-1")
    assert len(rows(reply.payload)) == 2


async def test_the_cli_lists_the_same_backups_as_slack(
    bot: RunningBot, fake_northflank: FakeNorthflank, tmp_path: Path
) -> None:
    seed(fake_northflank, 25)
    fake_northflank.add_backups("dest-1", [make_backup("odd", name="odd", status="verifying")])
    _, reply = await bot.slash("list dest-1 limit=20")
    in_slack = [(status, name) for status, name in rows(reply.payload)]
    env = clean_env(NORTHFLANK_API_TOKEN=NF_TOKEN, NORTHFLANK_API_BASE_URL=fake_northflank.url)
    result = await asyncio.to_thread(
        run_bot, "list", "dest-1", "--limit", "20", "--json", env=env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    in_cli = [(b["status"], b["name"]) for b in json.loads(result.stdout)]
    assert in_cli == in_slack
    assert in_slack[0] == ("verifying", "odd")
