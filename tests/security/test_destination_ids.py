"""A destination id can only ever name one destination: `/`, `..`, `?` or `#` reach no other route.

tests/services/test_listing.py shows resolve() refusing such text without a request,
and tests/slack/test_backups_command.py a forged Next button naming `../auth`.
Here the whole bot is driven over HTTP, by every command that takes a
destination and by the Next button, with ids typed by a person and with ids
Northflank itself lists (a compromised or buggy API, or a proxy in front of
it). Every request the fake Northflank records must be a GET of the
destination list, of one plain id, or of one plain id's backups; and the
person gets an answer that says the destination was not found.
"""

from __future__ import annotations

import json

import pytest

from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.security.conftest import assert_paths_stay_put
from tests.slack.conftest import RunningBot

TYPED = [
    "../auth",
    "../../v1/auth",
    "dest-1/../../auth",
    "a/b",
    "dest-1/backups",
    "x?y=1",
    "dest-1?per_page=100000",
    "x#frag",
    "dest-1#x",
    "..",
    ".",
    "%2e%2e",
    "..%2Fauth",
    "dest-1%2F..%2F..%2Fauth",
    "\\..\\auth",
]
# Ids as Northflank itself might list them; names let people type something harmless.
LISTED = {
    "..": "dots",
    ".": "dot",
    "a/b": "slash",
    "x?y=1": "query",
    "#frag": "fragment",
    "%2e%2e": "encoded dots",
    "../auth": "climbing",
}
# "x?y=1" reads as an option to `list` and `watch`: refused as one, before any request.
REFUSED = ("I can't find", "doesn't look like a destination", "doesn't watch", "has no option")


def _seed(fake: FakeNorthflank) -> None:
    fake.add_destination("dest-1", "Primary")
    fake.add_backups("dest-1", [make_backup(f"b{i}") for i in range(3)])


def _commands(reference: str) -> list[str]:
    quoted = json.dumps(reference)  # shlex reads JSON's double quotes
    return [
        f"list {quoted}",
        f"watch {quoted}",
        f"unwatch {quoted}",
        f"mute {quoted} 1h",
        f"unmute {quoted}",
    ]


async def _assert_refused(bot: RunningBot, text: str) -> None:
    ack, reply = await bot.slash(text)
    assert ack.status_code == 200
    answer = reply.payload["text"]
    assert any(words in answer for words in REFUSED), (text, answer)


async def _press_next(bot: RunningBot, destination: str) -> str:
    value = json.dumps({"d": destination, "c": None, "k": 0, "s": [], "a": None, "l": 5})
    ack, reply = await bot.press(NEXT_PAGE_ACTION, value)
    assert ack.status_code == 200
    return str(reply.payload["text"])


@pytest.mark.parametrize("reference", TYPED)
async def test_typed_ids_never_reach_another_api_path(
    bot: RunningBot, fake_northflank: FakeNorthflank, reference: str
) -> None:
    _seed(fake_northflank)
    for text in _commands(reference):
        await _assert_refused(bot, text)
    answer = await _press_next(bot, reference)
    assert "I can't find" in answer or "can no longer continue" in answer, answer
    assert_paths_stay_put(fake_northflank)
    assert await bot.server.store.channel_watches("C0CHAN") == []


async def test_ids_northflank_lists_never_reach_another_api_path(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    _seed(fake_northflank)
    for destination_id, name in LISTED.items():
        fake_northflank.add_destination(destination_id, name)
    _, listed = await bot.slash("destinations")
    assert f"{len(LISTED) + 1} backup destinations" in listed.payload["text"]
    for destination_id, name in LISTED.items():
        for reference in (destination_id, name):
            for text in _commands(reference):
                await _assert_refused(bot, text)
        answer = await _press_next(bot, destination_id)
        assert "I can't find" in answer or "can no longer continue" in answer, answer
    assert_paths_stay_put(fake_northflank)
    assert await bot.server.store.channel_watches("C0CHAN") == []


async def test_a_plain_id_reaches_exactly_its_own_paths(
    bot: RunningBot, fake_northflank: FakeNorthflank
) -> None:
    """The control: the allow-list is not so strict that nothing passes it."""
    _seed(fake_northflank)
    _, reply = await bot.slash("list dest-1")
    assert "3 backups in Primary" in reply.payload["text"]
    paths = {r.path for r in fake_northflank.requests}
    assert "/v1/backup-destinations/dest-1/backups" in paths
    assert_paths_stay_put(fake_northflank)
