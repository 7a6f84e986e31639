"""A running bot (HTTP mode, in this process) wired to the fake servers."""

from __future__ import annotations

import asyncio
import itertools
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.runtime.server import BotServer
from bot.runtime.settings import BotSettings, load
from tests.fakes.northflank import DEFAULT_TOKEN as NF_TOKEN
from tests.fakes.northflank import FakeNorthflank
from tests.fakes.slack import DEFAULT_TOKEN as SLACK_TOKEN
from tests.fakes.slack import FakeSlack, ResponseUrlPost
from tests.slack.requests import SIGNING_SECRET, button_body, sign, slash_command_body

_keys = itertools.count()


@dataclass
class RunningBot:
    server: BotServer
    slack: FakeSlack
    http: httpx.AsyncClient

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    async def post_signed(self, body: str, **sign_options: Any) -> httpx.Response:
        return await self.http.post(
            self.events_url, content=body, headers=sign(body, **sign_options)
        )

    async def slash(self, text: str) -> tuple[httpx.Response, ResponseUrlPost]:
        """Send `/backups text`; return the ack and the reply posted to response_url."""
        key = f"cmd-{next(_keys)}"
        ack = await self.post_signed(slash_command_body(text, self.slack.response_url(key)))
        return ack, await self.reply_to(key)

    async def press(self, action_id: str, value: str) -> tuple[httpx.Response, ResponseUrlPost]:
        key = f"btn-{next(_keys)}"
        ack = await self.post_signed(button_body(action_id, value, self.slack.response_url(key)))
        return ack, await self.reply_to(key)

    async def reply_to(self, key: str) -> ResponseUrlPost:
        for _ in range(500):
            replies = [r for r in self.slack.responses if r.key == key]
            if replies:
                assert len(replies) == 1, replies
                return replies[0]
            await asyncio.sleep(0.01)
        raise AssertionError(f"no reply posted to response_url {key}")


def bot_settings(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, **extra: Any
) -> BotSettings:
    values: dict[str, Any] = {
        "slack_bot_token": SLACK_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": fake_slack.api_url,
        "northflank_api_token": NF_TOKEN,
        "northflank_api_base_url": fake_northflank.url,
        "port": 0,
        # Each bot its own throwaway database, never ./data in the checkout.
        "database_url": f"sqlite:///{tempfile.mkdtemp(prefix='backup-bot-test-')}/bot.db",
        **extra,
    }
    # _env_file=None: a developer's own .env must not leak into the tests.
    return load(BotSettings, _env_file=None, **values)


async def forget_startup_check(fake_northflank: FakeNorthflank) -> None:
    """Start-up checks the token once (GET /v1/auth); tests count only what follows."""
    for _ in range(500):
        if fake_northflank.request_count("/v1/auth"):
            break
        await asyncio.sleep(0.01)
    fake_northflank.clear_requests()


@pytest.fixture
async def bot(fake_northflank: FakeNorthflank, fake_slack: FakeSlack) -> AsyncIterator[RunningBot]:
    server = BotServer(bot_settings(fake_northflank, fake_slack), host="127.0.0.1")
    await server.start()
    await forget_startup_check(fake_northflank)
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            yield RunningBot(server, fake_slack, http)
    finally:
        await server.stop()
