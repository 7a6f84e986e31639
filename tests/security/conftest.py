"""What the security tests share: a bot for sync (hypothesis) tests, a log watch and checks.

Hypothesis does not drive async test functions, so the fuzz tests run the bot
on an event loop of its own in a background thread (`ThreadedBot`) and talk
to it with a sync httpx client, over real HTTP like every other test.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import threading
import time
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from bot.runtime.server import BotServer
from tests.fakes.northflank import FakeNorthflank
from tests.fakes.slack import FakeSlack, ResponseUrlPost
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario
from tests.scenarios.conftest import admin_scenario as admin_scenario
from tests.scenarios.conftest import scenario as scenario
from tests.slack.conftest import RunningBot, bot_settings
from tests.slack.conftest import bot as bot
from tests.slack.requests import sign, slash_command_body

# `scenario` and `bot` above are fixtures, imported `as` themselves so that pytest
# offers them here too: the security tests ask for them like the Slack and scenario tests.
_T = TypeVar("_T")
_keys = itertools.count()

# The bot's own control sequences: a date token and a mention of a well-formed user id.
_OWN_SEQUENCES = re.compile(r"<!date\^\d+\^[^|<>]*\|[^<>]*>|<@[UW][A-Z0-9]{2,20}>")
_ENTITY = re.compile(r"&(?!amp;|lt;|gt;)")
INTERNAL_FAILURE = "Something went wrong on my side"
# A request path the bot may send to Northflank: every destination id one plain segment.
ALLOWED_PATH = re.compile(
    r"/v1/backup-destinations(/[A-Za-z0-9][A-Za-z0-9_-]{0,99}(/backups)?)?", re.ASCII
)


def assert_paths_stay_put(northflank: FakeNorthflank) -> None:
    """Every request the bot made was a read of a destination list, one id, or its backups."""
    for request in northflank.requests:
        assert request.method == "GET", request
        assert ALLOWED_PATH.fullmatch(request.path), request.path


# ----- the log: no traceback, no log.exception -------------------------------------------


class ErrorLog(logging.Handler):
    """Every record at ERROR or above, or carrying a traceback, from any logger of the bot.

    The fakes log from threads of their own (`FakeNorthflank-loop`, ...); what
    they log is about the fake, not the bot, and is left out.
    """

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        from_a_fake = (record.threadName or "").startswith("Fake")
        if (record.levelno >= logging.ERROR or record.exc_info) and not from_a_fake:
            self.records.append(record)

    def lines(self) -> list[str]:
        return [f"{r.levelname} {r.name}: {r.getMessage()}" for r in self.records]


@pytest.fixture
def error_log() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    logging.getLogger().addHandler(handler)
    try:
        yield handler
    finally:
        logging.getLogger().removeHandler(handler)


# ----- replies: readable, and inert ------------------------------------------------------


def mrkdwn_texts(payload: Any) -> list[str]:
    """The texts Slack parses for mentions and links: the fallback and every mrkdwn object.

    plain_text objects (headers, button labels) are left out: Slack shows them
    as typed and never turns them into a mention.
    """
    texts: list[str] = []
    if isinstance(payload, dict) and isinstance(payload.get("text"), str):
        texts.append(payload["text"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                texts.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    if isinstance(payload, dict):
        walk(payload.get("blocks", []))
    return texts


def control_sequences(text: str) -> list[str]:
    """What would still act on Slack once the bot's own dates and mentions are set aside."""
    rest = _OWN_SEQUENCES.sub("", text)
    found = re.findall(r"<[^>]*>?|>", rest)
    found += [m.group(0) + rest[m.end() : m.end() + 8] for m in _ENTITY.finditer(rest)]
    return found


def assert_inert(payload: Any, *, allowed_mentions: frozenset[str] = frozenset()) -> None:
    """No `<!channel>`, `<@U…>` or `<url|label>` came from outside, and every `&` is escaped."""
    for text in mrkdwn_texts(payload):
        mentions = set(re.findall(r"<@([^>]*)>", text))
        assert mentions <= allowed_mentions, (mentions, text)
        assert control_sequences(text) == [], text


def assert_readable_reply(payload: Any) -> str:
    """An ephemeral answer with words in it, not a traceback; returns its text."""
    assert isinstance(payload, dict), payload
    assert payload.get("response_type") == "ephemeral", payload
    text = payload.get("text")
    assert isinstance(text, str) and text.strip(), payload
    for sign_of_a_crash in ("Traceback", INTERNAL_FAILURE, "object has no attribute", "NoneType"):
        assert sign_of_a_crash not in text, text
    blocks = payload.get("blocks", [])
    assert isinstance(blocks, list) and 1 <= len(blocks) <= 50, payload
    return text


# ----- the bot in a thread of its own, for sync tests ------------------------------------


class ThreadedBot:
    """The bot in HTTP mode, on an event loop in a background thread."""

    def __init__(self, northflank: FakeNorthflank, slack: FakeSlack, **settings: Any) -> None:
        self.slack = slack
        self.northflank = northflank
        self._settings = bot_settings(northflank, slack, **settings)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="threaded-bot", daemon=True
        )
        self._server: BotServer | None = None
        self.http = httpx.Client(timeout=10.0)

    @property
    def server(self) -> BotServer:
        assert self._server is not None, "the bot is not running"
        return self._server

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    def start(self) -> None:
        self._thread.start()
        self._server = self._run(self._start())

    def forget_startup_check(self) -> None:
        """Start-up reads GET /v1/auth once; the tests count only what follows."""
        deadline = time.monotonic() + 10
        while not self.northflank.request_count("/v1/auth") and time.monotonic() < deadline:
            time.sleep(0.01)
        self.northflank.clear_requests()

    async def _start(self) -> BotServer:
        # Built on its own loop: the clients and queues it creates belong there.
        server = BotServer(self._settings, host="127.0.0.1", schedule_polls=False)
        await server.start()
        return server

    def stop(self) -> None:
        try:
            if self._server is not None:
                self._run(self._server.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()
            self.http.close()

    def _run(self, work: Coroutine[Any, Any, _T]) -> _T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(30)

    def post(
        self, body: str, headers: dict[str, str] | None = None
    ) -> tuple[httpx.Response, float]:
        """POST to /slack/events, signed unless `headers` are given; (response, seconds)."""
        started = time.perf_counter()
        response = self.http.post(self.events_url, content=body, headers=headers or sign(body))
        return response, time.perf_counter() - started

    def reply_to(self, key: str, timeout: float = 10.0) -> ResponseUrlPost:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = [r for r in self.slack.responses if r.key == key]
            if replies:
                assert len(replies) == 1, replies
                return replies[0]
            time.sleep(0.002)
        raise AssertionError(f"no reply posted to response_url {key}")


def new_key(prefix: str) -> str:
    return f"{prefix}-{next(_keys)}"


@pytest.fixture(scope="module")
def module_northflank() -> Iterator[FakeNorthflank]:
    # The fuzz sends hundreds of commands; the fake's hourly budget must not be what answers.
    with FakeNorthflank(rate_limit=1_000_000) as fake:
        yield fake


@pytest.fixture(scope="module")
def module_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


# ----- scenarios ----------------------------------------------------------------------------


async def slash_payload(
    scenario: Scenario, text: str, *, user: str = ADMIN, channel: str = CHANNEL
) -> dict[str, Any]:
    """Like Scenario.slash, but the whole reply, for checks on its blocks."""
    key = new_key("security")
    body = slash_command_body(text, scenario.slack.response_url(key), user=user, channel=channel)
    async with httpx.AsyncClient(timeout=10.0) as http:
        ack = await http.post(
            f"http://127.0.0.1:{scenario.bot.port}/slack/events", content=body, headers=sign(body)
        )
    assert ack.status_code == 200, ack.text
    for _ in range(1000):
        replies = [r for r in scenario.slack.responses if r.key == key]
        if replies:
            payload = replies[0].payload
            assert isinstance(payload, dict), payload
            return payload
        await asyncio.sleep(0.01)
    raise AssertionError(f"no reply to /backups {text}")


# ----- scenarios with BOT_ADMINS ----------------------------------------------------------


__all__ = [
    "ALLOWED_PATH",
    "ErrorLog",
    "RunningBot",
    "ThreadedBot",
    "assert_inert",
    "assert_paths_stay_put",
    "assert_readable_reply",
    "control_sequences",
    "mrkdwn_texts",
    "new_key",
    "slash_payload",
]
