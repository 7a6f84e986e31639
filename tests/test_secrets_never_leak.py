"""No secret reaches a log line, an error or a Slack message, whatever happens.

The whole bot runs as a real process (`python -m bot run`) at LOG_LEVEL=DEBUG, so that
slack_sdk, Bolt, httpx and httpcore log everything they log, with distinctive secret
values (quotes and backslashes included, which JSON and repr() escape) against the fakes
built with those values. It answers every kind of slash command, polls and posts an alert,
and meets every kind of error: Northflank 500, 429, proxy HTML, a revoked token, Slack
5xx and 429, and gateways that quote the request's Authorization header back in their
error body and headers. Afterwards no secret may appear anywhere the bot wrote: its
stdout and stderr, every Slack call and reply, every Northflank request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, Final, TypeVar
from urllib.parse import parse_qsl

import aiohttp
import httpx
import pytest
from aiohttp import web

from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.runtime.logs import REDACTED
from bot.store import Store, upgrade
from tests.fakes._faults import FaultQueue
from tests.fakes._server import BackgroundServer
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack, ResponseUrlPost
from tests.processes import bot_env, free_port, wait_for_health
from tests.slack.requests import sign, slash_command_body
from tests.strings import strings_in

# Every secret starts and ends with the marker, and nothing else the bot could write
# holds it: finding the marker anywhere is a leak, even of a fragment (what a token-shape
# pattern leaves behind when it stops at a quote). The quote and the backslash make JSON
# and repr() escape the value, which a search for the plain value alone would miss.
MARKER: Final = "LEAKCHECK"
NF_TOKEN: Final = 'nf-LEAKCHECK-"q\\b-LEAKCHECK'
BOT_TOKEN: Final = 'xoxb-LEAKCHECK-2b9"c\\d-LEAKCHECK'
APP_TOKEN: Final = "xapp-LEAKCHECK-1-A0\\9-LEAKCHECK"
SIGNING_SECRET: Final = "sig-LEAKCHECK-'s3cr3t\\z-LEAKCHECK"
SECRETS: Final = (NF_TOKEN, BOT_TOKEN, APP_TOKEN, SIGNING_SECRET)

ALERTS_CHANNEL: Final = "C0ALERTS"
# Commands under injected faults use dest-2, which no channel watches: the poller never
# asks for it, so it cannot take a fault meant for a command.
FAULTY_BACKUPS: Final = "/backup-destinations/dest-2/backups"
REPLY_TIMEOUT: Final = 30.0

_keys = itertools.count()
T = TypeVar("T")


# ----- a gateway that quotes credentials back ------------------------------------------


def _credentials(authorization: str) -> str:
    return authorization.partition(" ")[2]


def _northflank_json_echo(authorization: str) -> web.Response:
    message = (
        f"the gateway refused the request; it carried Authorization: {authorization} "
        f"and the token {_credentials(authorization)} is not one it knows"
    )
    return web.json_response({"error": {"status": 400, "message": message}}, status=400)


def _northflank_html_echo(authorization: str) -> web.Response:
    page = f"<html><body>502 Bad Gateway. Request headers: Authorization: {authorization}"
    return web.Response(status=502, text=page + "</body></html>", content_type="text/html")


def _slack_echo(authorization: str) -> web.Response:
    body = {
        "ok": False,
        "error": "internal_error",
        "detail": f"authorization={authorization}",
        "token_seen": _credentials(authorization),
    }
    return web.json_response(body, status=500)


ECHOES: Final[dict[str, Callable[[str], web.Response]]] = {
    "northflank-json-400": _northflank_json_echo,
    "northflank-html-502": _northflank_html_echo,
    "slack-500": _slack_echo,
}
# Hop-by-hop headers, and those aiohttp sets itself on the way through.
_NOT_FORWARDED: Final = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}
)


class EchoingGateway(BackgroundServer):
    """Forwards every request to `upstream`, except those it is told to answer itself with
    an error that quotes the request's Authorization header, in the body and in response
    headers (httpcore logs response headers at DEBUG), as a debugging gateway might."""

    def __init__(self, upstream: str) -> None:
        super().__init__()
        self._upstream = upstream
        self._echoes = FaultQueue()
        self._echoed: list[str] = []
        self._session: aiohttp.ClientSession | None = None

    def echo_next(self, kind: str, path_contains: str, times: int = 1) -> None:
        with self._lock:
            self._echoes.push(kind, times, lambda path: path_contains in path)

    @property
    def echoed(self) -> list[str]:
        """The Authorization values it quoted back, to prove the real secret was there."""
        with self._lock:
            return list(self._echoed)

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        app.on_startup.append(self._open_session)
        app.on_cleanup.append(self._close_session)
        return app

    async def _open_session(self, _app: web.Application) -> None:
        self._session = aiohttp.ClientSession()

    async def _close_session(self, _app: web.Application) -> None:
        if self._session is not None:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        authorization = request.headers.get("Authorization", "")
        with self._lock:
            kind = self._echoes.take(request.path)
            if kind is not None:
                self._echoed.append(authorization)
        if kind is None:
            return await self._forward(request)
        response = ECHOES[kind](authorization)
        # Both with the header's name, and bare, where no pattern can recognise it.
        response.headers["X-Echo-Authorization"] = authorization
        response.headers["X-Upstream-Saw"] = _credentials(authorization)
        return response

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED}
        async with self._session.request(
            request.method,
            self._upstream + request.path_qs,
            headers=headers,
            data=await request.read(),
            allow_redirects=False,
        ) as upstream:
            body = await upstream.read()
            answer = {k: v for k, v in upstream.headers.items() if k.lower() not in _NOT_FORWARDED}
            return web.Response(status=upstream.status, body=body, headers=answer)


# ----- the bot, its fakes and how to talk to it ------------------------------------------


class Scenario:
    """The fakes, the gateways in front of them and the bot process, for one run."""

    def __init__(self, *, socket_mode: bool, log_format: str, tmp_path: Path) -> None:
        self.socket_mode = socket_mode
        self.log_format = log_format
        self.northflank = FakeNorthflank(token=NF_TOKEN)
        self.slack = FakeSlack(token=BOT_TOKEN, app_token=APP_TOKEN)
        self.database_url = f"sqlite:///{tmp_path}/state/bot.db"
        self.stdout_path = tmp_path / "stdout.log"
        self.stderr_path = tmp_path / "stderr.log"
        self.port = free_port()
        self.process: subprocess.Popen[str] | None = None
        # Set in start_fakes(): they need the fakes' addresses.
        self.northflank_gateway: EchoingGateway
        self.slack_gateway: EchoingGateway

    def start_fakes(self) -> None:
        self.northflank.start()
        self.slack.start()
        self.northflank_gateway = EchoingGateway(self.northflank.url).start()
        self.slack_gateway = EchoingGateway(self.slack.url).start()

    def start_bot(self) -> None:
        env = bot_env(
            northflank_url=self.northflank_gateway.url,
            slack_api_url=f"{self.slack_gateway.url}/api/",
            port=self.port,
            DATABASE_URL=self.database_url,
            POLL_INTERVAL="30",
            LOG_LEVEL="debug",  # in any case, as an operator may type it
            LOG_FORMAT=self.log_format,
        )
        env.update(
            NORTHFLANK_API_TOKEN=NF_TOKEN,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
        )
        if self.socket_mode:
            env["SLACK_APP_TOKEN"] = APP_TOKEN
        # Files, not pipes: DEBUG output would fill a pipe nobody reads until the end.
        with self.stdout_path.open("w") as out, self.stderr_path.open("w") as err:
            self.process = _spawn(env, self.stdout_path.parent, out, err)
        wait_for_health(self.port, self.process)
        if self.socket_mode:
            _wait_until(lambda: self.slack.socket_connection_count >= 1, "a Socket Mode link")

    def stop(self) -> int | None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()  # the returncode then says it did not stop cleanly
                self.process.wait()
        returncode = self.process.returncode if self.process is not None else None
        for server in (self.northflank_gateway, self.slack_gateway, self.slack, self.northflank):
            server.stop()
        return returncode

    def command(self, text: str) -> ResponseUrlPost:
        """`/backups text`, signed over HTTP or down the socket; the reply it gets."""
        key = f"leak-{next(_keys)}"
        response_url = self.slack.response_url(key)
        body = slash_command_body(text, response_url)
        if self.socket_mode:
            self.slack.send_envelope("slash_commands", dict(parse_qsl(body)))
        else:
            events = f"http://127.0.0.1:{self.port}/slack/events"
            headers = sign(body, secret=SIGNING_SECRET)
            ack = httpx.post(events, content=body, headers=headers, timeout=5)
            assert ack.status_code == 200, f"{text!r} was not acked: {ack.status_code}"
        return _wait_until(lambda: self._reply(key), f"the reply to {text!r}")

    def _reply(self, key: str) -> ResponseUrlPost | None:
        return next((r for r in self.slack.responses if r.key == key), None)

    def written_by_the_bot(self) -> Iterator[tuple[str, str]]:
        """(where, text) for everything the bot sent or printed."""
        yield "stdout", self.stdout_path.read_text()
        yield "stderr", self.stderr_path.read_text()
        for call in self.slack.calls:
            yield f"Slack {call.method}", _dumps(call.params, call.headers)
        for reply in self.slack.responses:
            yield f"response_url {reply.key}", _dumps(reply.payload, reply.headers)
        for message in self.slack.posted():
            yield "a posted message", _dumps(message)
        for sent in self.slack.socket_messages:
            yield "a Socket Mode message", _dumps(sent.data)
        for request in self.northflank.requests:
            where = f"Northflank {request.method} {request.path}"
            yield where, _dumps(request.path, request.query, request.body, request.headers)


def _spawn(env: dict[str, str], cwd: Path, out: IO[str], err: IO[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=cwd, env=env, stdout=out, stderr=err, text=True
    )


def _wait_until(probe: Callable[[], T | None], what: str) -> T:
    deadline = time.monotonic() + REPLY_TIMEOUT
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {REPLY_TIMEOUT} s")


def _dumps(*values: Any) -> str:
    # ensure_ascii=False keeps text as it is; escaped forms are searched for as well.
    return json.dumps(values, ensure_ascii=False, default=str)


async def _watched_an_hour_ago(database_url: str) -> None:
    """A channel that watched dest-1 before its backup failed, so the first poll alerts."""
    await upgrade(database_url)
    store = Store.connect(database_url)
    started = datetime.now(UTC) - timedelta(hours=1)
    await store.save_watch(
        ALERTS_CHANNEL, Destination("dest-1", "Primary"), WatchSettings(), "U0ADMIN", started
    )
    await store.close()


# ----- what counts as a leak ---------------------------------------------------------------


def secret_forms(secret: str) -> set[str]:
    """The secret as it is, and as JSON, repr() and a bytes repr() would write it."""
    return {
        secret,
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
    }


def leaks_in(text: str) -> list[str]:
    """Each leak found, with a little of the text around it."""
    forms = {form for secret in SECRETS for form in secret_forms(secret)} | {MARKER}
    return [_around(text, text.index(form)) for form in sorted(forms) if form in text]


def _around(text: str, at: int) -> str:
    return text[max(0, at - 100) : at + 60]


# ----- the scenario ------------------------------------------------------------------------


# Both formats and both Slack modes in two runs (about 15 s each): the text run signs
# its commands with the signing secret, the JSON run opens its socket with the app token.
@pytest.fixture(
    params=[("http", "text"), ("socket", "json")],
    ids=["http-text", "socket-json"],
)
def scenario(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scenario]:
    mode, log_format = request.param
    running = Scenario(socket_mode=mode == "socket", log_format=log_format, tmp_path=tmp_path)
    running.start_fakes()
    try:
        yield running
    finally:
        running.stop()


def drive(scenario: Scenario) -> dict[str, ResponseUrlPost]:
    """Everything a bot meets in a bad week; returns the replies worth a look."""
    nf, slack = scenario.northflank, scenario.slack
    nf.add_destination("dest-1", "Primary")
    nf.add_destination("dest-2", "Secondary")
    nf.add_backups("dest-1", [make_backup("b1", name="broke-overnight", status="failed")])
    nf.add_backups("dest-2", [make_backup(f"s{i}", name=f"second-{i}") for i in range(3)])
    asyncio.run(_watched_an_hour_ago(scenario.database_url))
    # Start-up checks the token through a gateway that quotes it back.
    scenario.northflank_gateway.echo_next("northflank-json-400", "/v1/auth")
    # The alert's first post meets a gateway that quotes the bot token, the second a 429.
    scenario.slack_gateway.echo_next("slack-500", "/api/chat.postMessage")
    slack.fail_next("chat.postMessage", "429")

    scenario.start_bot()
    # The first poll runs 2 s after start; delivery retries through both Slack errors.
    _wait_until(
        lambda: [m for m in slack.posted(ALERTS_CHANNEL) if "broke-overnight" in str(m)],
        "alert in the watching channel",
    )

    replies = {
        text: scenario.command(text)
        for text in (
            "help",
            "destinations",
            "list dest-1",
            "watch dest-2",
            "watching",
            "list dest-1 status=bogus",
            "list no-such-dest",
            "frobnicate",
        )
    }
    faults: list[tuple[Callable[[], None], str]] = [
        (lambda: nf.fail_next("500", 1, FAULTY_BACKUPS), "list dest-2 limit=2"),
        (lambda: nf.fail_next("429", 1, FAULTY_BACKUPS), "list dest-2 limit=3"),
        (lambda: nf.fail_next("html", 1, FAULTY_BACKUPS), "list dest-2 limit=4"),
        (
            lambda: scenario.northflank_gateway.echo_next("northflank-json-400", FAULTY_BACKUPS),
            "list dest-2 limit=5",
        ),
        (
            # Every attempt: the retries give up and the error reaches the person.
            lambda: scenario.northflank_gateway.echo_next(
                "northflank-html-502", FAULTY_BACKUPS, times=4
            ),
            "list dest-2 limit=6",
        ),
        (lambda: nf.set_token("nf-rotated-elsewhere"), "list dest-2 limit=7"),
    ]
    for inject, text in faults:
        inject()
        replies[text] = scenario.command(text)
    nf.set_token(NF_TOKEN)
    return replies


@pytest.mark.slow
def test_no_secret_leaks_into_logs_errors_or_slack(scenario: Scenario) -> None:
    replies = drive(scenario)
    returncode = scenario.stop()
    stderr = scenario.stderr_path.read_text()
    assert returncode == 0, stderr[-5000:]

    # The scenario happened: each error reached the person who asked, in words.
    assert "can't find" in str(replies["list no-such-dest"].payload)
    assert REDACTED in str(replies["list dest-2 limit=5"].payload)
    assert "isn't answering properly" in str(replies["list dest-2 limit=6"].payload)
    assert "rejected the bot's API token" in str(replies["list dest-2 limit=7"].payload)

    # The secrets were really used, so finding none of them below means something.
    assert any(r.auth_valid for r in scenario.northflank.requests)
    assert any(not r.auth_valid for r in scenario.northflank.requests)  # the revoked spell
    assert any(c.token_valid for c in scenario.slack.calls_to("chat.postMessage"))
    assert f"Bearer {NF_TOKEN}" in scenario.northflank_gateway.echoed
    assert f"Bearer {BOT_TOKEN}" in scenario.slack_gateway.echoed
    if scenario.socket_mode:
        opened = scenario.slack.calls_to("apps.connections.open")
        assert opened and all(c.token_valid for c in opened)
        # The socket URL's one-time ticket is a credential too, while it lasts.
        assert stderr.count("ticket=") == stderr.count("ticket=[redacted]") > 0

    # DEBUG was on, for the libraries that log requests too, and redaction had work to do.
    logged_debug = debug_loggers(stderr, scenario.log_format)
    for library in ("slack_sdk.web", "httpcore", "bot.slack.bolt"):
        assert any(name.startswith(library) for name in logged_debug), logged_debug
    assert REDACTED in stderr

    written = scenario.written_by_the_bot()
    leaks = {where: found for where, text in written if (found := leaks_in(text))}
    assert leaks == {}

    if scenario.log_format == "json":
        assert_json_lines(stderr)


def debug_loggers(stderr: str, log_format: str) -> set[str]:
    """The loggers that wrote a DEBUG line."""
    if log_format == "json":
        records = [json.loads(line) for line in stderr.splitlines()]
        return {r["logger"] for r in records if r["level"] == "DEBUG"}
    # "2026-01-01 00:00:00,000 DEBUG httpcore.http11: ..."
    return set(re.findall(r"^\S+ \S+ DEBUG (\S+): ", stderr, re.MULTILINE))


def assert_json_lines(stderr: str) -> None:
    """One JSON object a line, with the fields every line has; and no secret in any of
    its strings once decoded (the raw line may hold one escaped twice over)."""
    lines = stderr.splitlines()
    assert lines
    for line in lines:
        record = json.loads(line)
        assert isinstance(record, dict), line
        assert {"time", "level", "logger", "message"} <= record.keys(), line
        assert datetime.fromisoformat(record["time"]).utcoffset() == timedelta(0), line
        assert [leak for text in strings_in(record) for leak in leaks_in(text)] == []
