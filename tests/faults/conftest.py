"""The bot as in tests/scenarios/, with a Northflank client that retries fast and gives up early."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Final

import httpx
import pytest

from bot.northflank.client import NorthflankClient
from bot.northflank.transport import RetryPolicy
from tests.clock import FakeClock
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank
from tests.fakes.slack import FakeSlack
from tests.scenarios.conftest import Scenario, running

POLL_INTERVAL: Final = 60  # seconds on the test's clock; the bot's shortest allowed is 30
# The bot's own retries, shortened so that hundreds of polls take seconds, not hours.
# Six attempts: a request that meets a queued fault and then five random 500s in a row
# (0.2^5) is rare; a poll that does fail is simply tried again at the next one.
RETRY_POLICY: Final = RetryPolicy(attempts=6, base_delay=0.01, max_backoff=0.04, max_wait=2.0)
READ_TIMEOUT: Final = 0.2  # a "timeout" fault holds its answer for longer (timeout_delay)


class FaultyScenario(Scenario):
    """A Scenario whose Northflank client retries fast and times out early."""

    poll_interval = POLL_INTERVAL

    def northflank_client(self) -> NorthflankClient:
        return NorthflankClient(
            api_token=DEFAULT_TOKEN,
            base_url=self.northflank.url,
            retry_policy=RETRY_POLICY,
            timeout=httpx.Timeout(READ_TIMEOUT, connect=2.0),
        )


@pytest.fixture
async def faulty(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, database_url: str
) -> AsyncIterator[FaultyScenario]:
    world = FaultyScenario(fake_northflank, fake_slack, FakeClock(), database_url)
    async with running(world):
        yield world
