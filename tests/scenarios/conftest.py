"""Scenarios: the whole bot against the fake servers, with a clock the test moves.

The bot runs in this process in HTTP mode (slash commands go over real HTTP,
signed), its store on SQLite or PostgreSQL (the `database_url` fixture runs
every scenario on both), and the scheduler and the delivery loop are left to
the test: `poll()` runs one poll and delivers what it queued, so each step's
effect can be checked before the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import httpx
import pytest

from bot.northflank.client import NorthflankClient
from bot.runtime.server import BotServer
from bot.services.connections import ClientFactory
from bot.services.delivery import Outcome
from bot.services.poll_reports import PollReport
from tests.clock import FakeClock
from tests.fakes.northflank import FakeNorthflank
from tests.fakes.slack import FakeSlack
from tests.slack.conftest import bot_settings, forget_startup_check
from tests.slack.requests import button_body, sign, slash_command_body

CHANNEL = "C0ALERTS"
ADMIN = "U0ADMIN"
_keys = itertools.count()


@dataclass
class Scenario:
    northflank: FakeNorthflank
    slack: FakeSlack
    clock: FakeClock
    database_url: str
    settings_overrides: dict[str, Any] = field(default_factory=dict)
    server: BotServer | None = None
    _http: httpx.AsyncClient | None = None

    poll_interval: ClassVar[int] = 60

    def northflank_client(self) -> NorthflankClient | None:
        """None: the bot builds its own from the settings, as in production."""
        return None

    def northflank_for_token(self) -> ClientFactory | None:
        """How the bot builds a stored connection's client; None: from the settings."""
        return None

    @property
    def bot(self) -> BotServer:
        assert self.server is not None, "the bot is not running"
        return self.server

    async def start(self) -> None:
        settings = bot_settings(
            self.northflank,
            self.slack,
            database_url=self.database_url,
            poll_interval=self.poll_interval,
            **self.settings_overrides,
        )
        self.server = BotServer(
            settings,
            host="127.0.0.1",
            clock=self.clock.now,
            schedule_polls=False,
            background_delivery=False,
            pace_per_channel=0.0,
            northflank=self.northflank_client(),
            northflank_for_token=self.northflank_for_token(),
        )
        await self.server.start()
        self._http = httpx.AsyncClient(timeout=10.0)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        if self.server is not None:
            await self.server.stop()
            self.server = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def slash(self, text: str, *, channel: str = CHANNEL, user: str = ADMIN) -> str:
        """Run `/backups text` and return the reply's text (all blocks, joined)."""
        assert self._http is not None
        key = f"scenario-{next(_keys)}"
        body = slash_command_body(text, self.slack.response_url(key), user=user, channel=channel)
        ack = await self._http.post(
            f"http://127.0.0.1:{self.bot.port}/slack/events", content=body, headers=sign(body)
        )
        assert ack.status_code == 200, ack.text
        for _ in range(1000):
            replies = [r for r in self.slack.responses if r.key == key]
            if replies:
                return reply_text(replies[0].payload)
            await asyncio.sleep(0.01)
        raise AssertionError(f"no reply to /backups {text}")

    async def press(
        self,
        action_id: str,
        value: str,
        *,
        user: str = ADMIN,
        channel: str = CHANNEL,
        selected: str | None = None,
    ) -> str | None:
        """Press a button (or pick `selected` in a select), signed as Slack sends it.

        Returns the ephemeral reply's text, or None when the bot answered
        without one (its answer is a message edit or a thread reply).
        """
        assert self._http is not None
        key = f"scenario-{next(_keys)}"
        body = button_body(
            action_id,
            value,
            self.slack.response_url(key),
            user=user,
            channel=channel,
            block_id=f"alert_actions:{value}",
            selected_option=selected,
        )
        ack = await self._http.post(
            f"http://127.0.0.1:{self.bot.port}/slack/events", content=body, headers=sign(body)
        )
        assert ack.status_code == 200, ack.text
        await self.bot.after_ack.drained()
        replies = [r for r in self.slack.responses if r.key == key]
        return reply_text(replies[0].payload) if replies else None

    async def poll(self) -> PollReport:
        report = await self.bot.poller.poll_all()
        await self.deliver()
        return report

    async def deliver(self) -> list[Outcome]:
        return await self.bot.delivery.drain()

    def alerts_posted(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        """Top-level messages in the channel (not thread replies), oldest first."""
        return [m for m in self.slack.posted(channel) if not m.get("thread_ts")]

    def thread_replies(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        return [m for m in self.slack.posted(channel) if m.get("thread_ts")]


def reply_text(payload: Any) -> str:
    """Every text in a reply or message, so assertions need not know the block layout."""
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    texts.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(payload)
    return "\n".join(texts)


ScenarioT = TypeVar("ScenarioT", bound=Scenario)


@contextlib.asynccontextmanager
async def running(world: ScenarioT) -> AsyncIterator[ScenarioT]:
    """The world's bot started (its start-up token check forgotten), and stopped after."""
    await world.start()
    await forget_startup_check(world.northflank)
    try:
        yield world
    finally:
        await world.stop()


@pytest.fixture
async def scenario(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, database_url: str
) -> AsyncIterator[Scenario]:
    async with running(Scenario(fake_northflank, fake_slack, FakeClock(), database_url)) as world:
        yield world


@pytest.fixture
async def admin_scenario(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, database_url: str
) -> AsyncIterator[Scenario]:
    """A scenario whose bot has BOT_ADMINS=ADMIN."""
    world = Scenario(
        fake_northflank,
        fake_slack,
        FakeClock(),
        database_url,
        settings_overrides={"bot_admins": ADMIN},
    )
    async with running(world):
        yield world
