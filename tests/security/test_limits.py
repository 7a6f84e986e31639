"""Input limits: oversized text, absurd durations and too many watches get a clear refusal.

Each refusal names the limit, and nothing is done: no Northflank request for
text that is refused while parsing, no change in the store (SQLite and
PostgreSQL) for a duration out of range or a watch over the cap.
tests/core/test_commands.py checks the parser's messages one by one; here they
travel the whole way, over HTTP, to response_url.
"""

from __future__ import annotations

import time

import pytest

from bot.core.backups import Destination
from bot.core.commands import MAX_TEXT_LENGTH
from bot.core.watches import WatchSettings
from bot.services.watching import MAX_WATCHES_PER_CHANNEL
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario
from tests.security.conftest import ErrorLog
from tests.slack.conftest import RunningBot
from tests.slack.requests import slash_command_body

# Slack's deadline for an ack (the issue asks that even absurd input is acked in time).
ACK_DEADLINE = 3.0


@pytest.mark.parametrize("length", [MAX_TEXT_LENGTH + 1, 5_000, 100_000])
async def test_oversized_command_text_is_refused_naming_the_limit(
    bot: RunningBot, fake_northflank: FakeNorthflank, length: int
) -> None:
    text = ("list dest-1 status=failed " * (length // 20 + 1))[:length]
    key = f"oversized-{length}"
    started = time.perf_counter()
    ack = await bot.post_signed(slash_command_body(text, bot.slack.response_url(key)))
    acked_after = time.perf_counter() - started
    assert ack.status_code == 200
    assert acked_after < ACK_DEADLINE
    answer = (await bot.reply_to(key)).payload["text"]
    assert f"That command is {length:,} characters long" in answer
    assert f"I read at most {MAX_TEXT_LENGTH:,}" in answer
    assert fake_northflank.requests == []


async def test_text_at_the_limit_is_still_read(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    """The control: the limit is where it says, not lower."""
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups("dest-1", [make_backup("b1")])
    text = "list dest-1".ljust(MAX_TEXT_LENGTH)
    _, reply = await bot.slash(text)
    assert "1 backup in Primary" in reply.payload["text"]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("limit=100000", "`limit=` takes a whole number from 1 to 20"),
        ("limit=0", "`limit=` takes a whole number from 1 to 20"),
        ("limit=-1", "`limit=` takes a whole number from 1 to 20"),
        ("limit=1e9", "`limit=` takes a whole number from 1 to 20"),
    ],
)
async def test_absurd_page_sizes_are_refused_naming_the_limit(
    bot: RunningBot, fake_northflank: FakeNorthflank, option: str, expected: str
) -> None:
    _, reply = await bot.slash(f"list dest-1 {option}")
    assert expected in reply.payload["text"]
    assert fake_northflank.requests == []


ABSURD_DURATIONS = [
    (
        "watch dest-1 expiry=99999999w",
        "`expiry=` takes from 1h to 90d, and `99999999w` is too long",
    ),
    ("watch dest-1 expiry=365d", "`expiry=` takes from 1h to 90d, and `365d` is too long"),
    ("watch dest-1 expiry=0m", "It takes from 1h to 90d"),
    ("watch dest-1 stuck=1e9h", "It takes from 10m to 30d"),
    ("watch dest-1 stuck=-5m", "It takes from 10m to 30d"),
    ("watch dest-1 stuck=99999999999999999999999w", "It takes from 10m to 30d"),
    ("mute dest-1 0m", "It takes from 1m to 30d"),
    ("mute dest-1 -1h", "It takes from 1m to 30d"),
    ("mute dest-1 1e9h", "It takes from 1m to 30d"),
    ("mute dest-1 99999999w", "`mute` takes from 1m to 30d, and `99999999w` is too long"),
    ("mute dest-1 31d", "`mute` takes from 1m to 30d, and `31d` is too long"),
]


async def test_absurd_durations_are_refused_naming_the_range(scenario: Scenario) -> None:
    scenario.northflank.add_destination("dest-1", "Nightly")
    scenario.northflank.add_destination("dest-2", "Weekly")
    await scenario.slash("watch dest-1 expiry=2d stuck=2h")
    before = await scenario.bot.store.channel_watches(CHANNEL)
    scenario.northflank.clear_requests()
    for text, expected in ABSURD_DURATIONS:
        answer = await scenario.slash(text)
        assert expected in answer, (text, answer)
        assert "Usage: `/backups" in answer, answer
    # A new watch with an absurd option is refused before anything is looked up or saved.
    assert "too long" in await scenario.slash("watch dest-2 expiry=99999999w")
    assert await scenario.bot.store.channel_watches(CHANNEL) == before
    assert scenario.northflank.requests == []


async def _fill_channel(scenario: Scenario, count: int) -> None:
    """`count` watches, saved straight into the store: the cap is what is under test."""
    for number in range(1, count + 2):
        scenario.northflank.add_destination(f"dest-{number}", f"Destination {number}")
    for number in range(1, count + 1):
        destination = Destination(f"dest-{number}", f"Destination {number}")
        await scenario.bot.store.save_watch(
            CHANNEL, destination, WatchSettings(), ADMIN, scenario.clock.now()
        )


async def test_one_watch_over_the_cap_is_refused_naming_it(scenario: Scenario) -> None:
    cap = MAX_WATCHES_PER_CHANNEL
    await _fill_channel(scenario, cap)
    posted = len(scenario.slack.posted())
    scenario.northflank.clear_requests()

    answer = await scenario.slash(f"watch dest-{cap + 1}")
    assert f"This channel already watches {cap} destinations, the most I allow" in answer
    assert "/backups unwatch DEST" in answer
    assert await scenario.bot.store.count_channel_watches(CHANNEL) == cap
    assert await scenario.bot.store.watch(CHANNEL, f"dest-{cap + 1}") is None
    assert len(scenario.slack.posted()) == posted
    # Refused before its backups were read.
    assert not any(r.path.endswith("/backups") for r in scenario.northflank.requests)

    # At the cap, changing an existing watch still works, and so does another channel.
    assert "with new settings" in await scenario.slash("watch dest-7 expiry=1d")
    assert "now watches" in await scenario.slash(f"watch dest-{cap + 1}", channel="C0OTHER")
    # One unwatch makes room again.
    assert "no longer watches" in await scenario.slash("unwatch dest-7")
    assert "now watches" in await scenario.slash(f"watch dest-{cap + 1}")
    assert await scenario.bot.store.count_channel_watches(CHANNEL) == cap


async def test_a_body_over_one_mebibyte_is_refused_at_once(
    bot: RunningBot, fake_northflank: FakeNorthflank, error_log: ErrorLog
) -> None:
    """aiohttp's own cap (client_max_size, 1 MiB) comes before Bolt: a 413, nothing logged."""
    body = slash_command_body("x" * 2_000_000, bot.slack.response_url("too-big"))
    started = time.perf_counter()
    response = await bot.post_signed(body)
    assert response.status_code == 413
    assert time.perf_counter() - started < ACK_DEADLINE
    await bot.server.after_ack.stop()
    assert bot.slack.responses == [] and fake_northflank.requests == []
    assert error_log.lines() == []
