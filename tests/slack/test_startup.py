from __future__ import annotations

import asyncio
import logging

import pytest

from bot.runtime.server import BotServer
from tests.fakes.northflank import DEFAULT_TOKEN as NF_TOKEN
from tests.fakes.northflank import FakeNorthflank
from tests.fakes.slack import FakeSlack
from tests.slack.conftest import bot_settings


async def start_and_read_logs(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> str:
    server = BotServer(bot_settings(fake_northflank, fake_slack), host="127.0.0.1")
    with caplog.at_level(logging.INFO, logger="bot.runtime.server"):
        await server.start()
        try:
            for _ in range(200):
                if "Northflank" in caplog.text:
                    break
                await asyncio.sleep(0.01)
        finally:
            await server.stop()
    return caplog.text


async def test_start_up_reports_a_working_token(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    text = await start_and_read_logs(fake_northflank, fake_slack, caplog)
    assert "Northflank accepted the API token" in text
    assert fake_northflank.request_count("/v1/auth") == 1


async def test_start_up_reports_a_rejected_token_without_printing_it(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake_northflank.set_token("the-token-northflank-now-expects")
    text = await start_and_read_logs(fake_northflank, fake_slack, caplog)
    assert "Northflank did not accept NORTHFLANK_API_TOKEN: Northflank API error 401" in text
    assert NF_TOKEN not in text
