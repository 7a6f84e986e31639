"""Two replicas of the bot, as real processes on one PostgreSQL database: the Slack side.

Production may run several replicas behind a load balancer (HTTP mode), or several
processes each holding a Socket Mode connection, among which Slack spreads its requests.
Either way the request that continues a conversation can reach another replica than the
one that began it, so nothing a reply needs may live in one process's memory: the Next
button carries its whole listing position, and watches live in the shared database.

Each test starts two `python -m bot run` processes against the fake Northflank, the fake
Slack and one fresh PostgreSQL schema (skipped, or failed with REQUIRE_POSTGRES=1, when
PostgreSQL cannot be reached, as the store's tests are). In HTTP mode both replicas start
together on the empty schema, as those of a new deployment do, so their migrations meet.
Processes are always stopped with SIGTERM, and their logs are in every failure message.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
import pytest

from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.databases import postgres_schema
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import DEFAULT_APP_TOKEN, FakeSlack, ResponseUrlPost
from tests.processes import bot_env, free_port, spawn_bot, wait_for_health
from tests.slack.requests import button_body, sign, slash_command_body
from tests.slack.test_backups_command import next_button, rows
from tests.slack.test_socket_mode import button_payload, slash_payload

# Each takes tens of seconds of wall clock (real processes, real intervals).
pytestmark = pytest.mark.slow

DEST_ID, DEST_NAME = "dest-1", "Primary"
BACKUPS = 12
LIMIT = 5  # 12 backups, 5 a page: pages of 5, 5 and 2
CHANNEL = "C0REPLICAS"
ENVELOPES = 10
POLL_INTERVAL = "30"  # the least the bot accepts
# Deadlines for things that take milliseconds once the processes are up; generous so that
# a loaded machine does not fail the test. How fast is bench/'s business.
DEADLINE = 20.0
STOP_TIMEOUT = 15.0

_T = TypeVar("_T")


# ----- the replicas ------------------------------------------------------------------------


class Replica:
    """One `python -m bot run` process; its output is read all along (a full pipe would
    stall its logging) and kept for failure messages."""

    def __init__(self, name: str, env: dict[str, str], cwd: Path) -> None:
        self.name = name
        self.port = int(env["PORT"])
        self.process = spawn_bot("run", env=env, cwd=cwd)
        self._lines: list[str] = []
        self._lock = threading.Lock()
        self._terminated = False
        self._readers = [
            threading.Thread(target=self._read_log, daemon=True),
            threading.Thread(target=self._drain_stdout, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @property
    def stderr(self) -> str:
        with self._lock:
            return "".join(self._lines)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self) -> None:
        """SIGTERM, once, as an orchestrator stops a replica (a second might cut it short)."""
        if not self._terminated and self.process.poll() is None:
            self._terminated = True
            self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """Terminate it, and wait until it is gone; SIGKILL if it does not go."""
        self.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
            with self._lock:
                self._lines.append(f"[test] replica {self.name} ignored SIGTERM; killed\n")
        for reader in self._readers:
            reader.join(STOP_TIMEOUT)

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._lock:
                self._lines.append(line)

    def _drain_stdout(self) -> None:
        assert self.process.stdout is not None
        self.process.stdout.read()


class Replicas:
    """The bot processes of one test, stopped when the block ends, whatever happened."""

    def __init__(self, cwd: Path) -> None:
        self._cwd = cwd
        self.started: list[Replica] = []

    def __enter__(self) -> Replicas:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for replica in self.started:  # all at once, then wait for each
            replica.terminate()
        for replica in self.started:
            replica.stop()

    def spawn(self, name: str, env: dict[str, str]) -> Replica:
        ports = {replica.port for replica in self.started}
        while int(env["PORT"]) in ports:  # free_port() may hand out a port twice
            env = {**env, "PORT": str(free_port())}
        replica = Replica(name, env, self._cwd)
        self.started.append(replica)
        return replica

    def logs(self) -> str:
        return "\n".join(
            f"----- replica {r.name} (port {r.port}, exit {r.process.poll()}) -----\n{r.stderr}"
            for r in self.started
        )

    def check_running(self) -> None:
        for replica in self.started:
            if replica.process.poll() is not None:
                replica.stop()  # collects the rest of its log
                raise AssertionError(f"replica {replica.name} exited early\n{self.logs()}")

    def check_clean_exit(self) -> None:
        """After the block: every replica stopped by SIGTERM exited 0, with no traceback."""
        for replica in self.started:
            assert replica.process.returncode == 0, self.logs()
            assert "Traceback" not in replica.stderr, self.logs()

    async def until(self, check: Callable[[], _T | None], what: str) -> _T:
        """Poll `check` until it returns something, while every replica still runs."""
        deadline = time.monotonic() + DEADLINE
        while True:
            result = check()
            if result is not None:
                return result
            self.check_running()
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {DEADLINE:.0f} s\n{self.logs()}")
            await asyncio.sleep(0.02)

    async def healthy(self) -> None:
        for replica in self.started:
            try:
                await asyncio.to_thread(wait_for_health, replica.port, replica.process)
            except AssertionError as exc:
                raise AssertionError(f"replica {replica.name}: {exc}\n{self.logs()}") from None


def replica_env(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, database_url: str, **extra: str
) -> dict[str, str]:
    return bot_env(
        northflank_url=fake_northflank.url,
        slack_api_url=fake_slack.api_url,
        port=free_port(),
        DATABASE_URL=database_url,
        POLL_INTERVAL=POLL_INTERVAL,
        **extra,
    )


def socket_mode_env(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, database_url: str
) -> dict[str, str]:
    # An app token, and no signing secret: Socket Mode requests are not signed.
    env = replica_env(fake_northflank, fake_slack, database_url, SLACK_APP_TOKEN=DEFAULT_APP_TOKEN)
    del env["SLACK_SIGNING_SECRET"]
    return env


@pytest.fixture
async def shared_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema for all the replicas of a test, as production shares one."""
    async with postgres_schema() as url:
        yield url


# ----- the data and the replies --------------------------------------------------------------


def seed(fake: FakeNorthflank) -> list[str]:
    """BACKUPS completed backups in dest-1, stored out of order; their names, newest first.

    Each backup has a name of its own (bk-07 is nightly-07), which is what a listing row
    shows. None is failing, stuck or about to expire: watching dest-1 raises no alert.
    """
    now = datetime.now(UTC)
    backups = [
        make_backup(
            f"bk-{i:02d}",
            name=f"nightly-{i:02d}",
            created_at=now - timedelta(hours=BACKUPS - i),
            expired_by=now + timedelta(days=30),
        )
        for i in range(BACKUPS)
    ]
    random.Random(BACKUPS).shuffle(backups)
    fake.add_destination(DEST_ID, DEST_NAME)
    fake.add_backups(DEST_ID, backups)
    newest_first = sorted(backups, key=lambda backup: str(backup["createdAt"]), reverse=True)
    return [str(backup["name"]) for backup in newest_first]


def names(reply: ResponseUrlPost) -> list[str]:
    return [name for _, name in rows(reply.payload)]


def reply_to(fake_slack: FakeSlack, key: str) -> ResponseUrlPost | None:
    replies = [reply for reply in fake_slack.responses if reply.key == key]
    return replies[0] if replies else None


def answers_per_key(fake_slack: FakeSlack, keys: list[str]) -> dict[str, int]:
    counts = dict.fromkeys(keys, 0)
    for reply in fake_slack.responses:
        if reply.key in counts:
            counts[reply.key] += 1
    return counts


def acks_of(fake_slack: FakeSlack, envelope_id: str) -> list[tuple[int, Any]] | None:
    """(connection, message) for everything sent back about `envelope_id`; None if nothing."""
    acks = [
        (message.connection, message.data)
        for message in fake_slack.socket_messages
        if isinstance(message.data, dict) and message.data.get("envelope_id") == envelope_id
    ]
    return acks or None


def ack_count(metrics: str, kind: str) -> float:
    prefix = f'backupbot_slack_ack_seconds_count{{kind="{kind}"}} '
    for line in metrics.splitlines():
        if line.startswith(prefix):
            return float(line.removeprefix(prefix))
    return 0.0


class HttpSlack:
    """Slack's side of HTTP mode: signed requests to whichever replica the balancer picks."""

    def __init__(self, http: httpx.AsyncClient, fake_slack: FakeSlack, group: Replicas) -> None:
        self._http = http
        self._slack = fake_slack
        self._group = group
        self.keys: list[str] = []

    async def slash(self, replica: Replica, text: str) -> ResponseUrlPost:
        key = self._key(f"{replica.name}-cmd")
        body = slash_command_body(text, self._slack.response_url(key), channel=CHANNEL)
        return await self._send(replica, body, key, f"/backups {text}")

    async def press_next(self, replica: Replica, value: str) -> ResponseUrlPost:
        key = self._key(f"{replica.name}-next")
        body = button_body(NEXT_PAGE_ACTION, value, self._slack.response_url(key))
        return await self._send(replica, body, key, "the Next button")

    def _key(self, prefix: str) -> str:
        key = f"{prefix}-{len(self.keys)}"
        self.keys.append(key)
        return key

    async def _send(self, replica: Replica, body: str, key: str, what: str) -> ResponseUrlPost:
        ack = await self._http.post(
            f"{replica.base_url}/slack/events", content=body, headers=sign(body)
        )
        # Slack's contract: a 200, with an empty body; the answer goes to response_url.
        assert (ack.status_code, ack.text) == (200, ""), (
            f"replica {replica.name} acked {what} with {ack.status_code} {ack.text!r}\n"
            + self._group.logs()
        )
        return await self._group.until(
            lambda: reply_to(self._slack, key), f"replica {replica.name}'s answer to {what}"
        )


# ----- HTTP mode behind a load balancer --------------------------------------------------------


async def test_http_replicas_continue_each_others_listings_and_share_watches(
    fake_northflank: FakeNorthflank,
    fake_slack: FakeSlack,
    shared_database: str,
    tmp_path: Path,
) -> None:
    expected = seed(fake_northflank)
    env = replica_env(fake_northflank, fake_slack, shared_database)
    with Replicas(tmp_path) as group:
        a = group.spawn("A", env)
        b = group.spawn("B", {**env, "PORT": str(free_port())})
        await group.healthy()
        async with httpx.AsyncClient(timeout=10.0) as http:
            slack = HttpSlack(http, fake_slack, group)

            # A begins the listing; B and A again continue it from the buttons alone.
            first = await slack.slash(a, f"list {DEST_ID} limit={LIMIT}")
            first_next = next_button(first.payload)
            assert first_next is not None, first.payload
            second = await slack.press_next(b, first_next)
            second_next = next_button(second.payload)
            assert second_next is not None, second.payload
            third = await slack.press_next(a, second_next)

            # B reads the watch that A saved; it saw none before.
            before = await slack.slash(b, "watching")
            watched = await slack.slash(a, f"watch {DEST_ID}")
            after = await slack.slash(b, "watching")
    group.check_clean_exit()

    assert names(first) == expected[:LIMIT], group.logs()
    assert names(second) == expected[LIMIT : 2 * LIMIT], group.logs()
    assert names(third) == expected[2 * LIMIT :], group.logs()
    pages = names(first) + names(second) + names(third)
    assert len(set(pages)) == len(pages) == BACKUPS  # no overlap, nothing left out
    assert next_button(third.payload) is None
    # Each page replaces the one whose button was pressed, keeping one page on screen.
    assert second.payload["replace_original"] is True
    assert third.payload["replace_original"] is True
    assert second.payload["blocks"][0]["text"]["text"] == f"Backups in {DEST_NAME}"

    assert "watches no backup destination" in str(before.payload["blocks"])
    assert f"This channel now watches *{DEST_NAME}*" in str(watched.payload["blocks"])
    assert after.payload["blocks"][0]["text"]["text"] == "What this channel watches"
    assert DEST_NAME in str(after.payload["blocks"]) and DEST_ID in str(after.payload["blocks"])
    # One announcement of the new watch in the channel, from A alone.
    assert len(fake_slack.posted(CHANNEL)) == 1, fake_slack.posted(CHANNEL)
    # Every request was answered exactly once (nothing can arrive once both have stopped).
    assert answers_per_key(fake_slack, slack.keys) == dict.fromkeys(slack.keys, 1)


# ----- Socket Mode with a connection per replica ------------------------------------------------


async def test_socket_mode_replicas_share_the_envelopes_and_continue_listings(
    fake_northflank: FakeNorthflank,
    fake_slack: FakeSlack,
    shared_database: str,
    tmp_path: Path,
) -> None:

    expected = seed(fake_northflank)
    env = socket_mode_env(fake_northflank, fake_slack, shared_database)
    keys: list[str] = []
    sent: list[str] = []  # envelope ids, in the order they were sent

    def send(envelope_type: str, payload_for: Callable[[str], dict[str, Any]]) -> str:
        key = f"sock-{len(keys)}"
        keys.append(key)
        sent.append(
            fake_slack.send_envelope(
                envelope_type,
                payload_for(fake_slack.response_url(key)),
                # As Slack: a block_actions envelope does not accept a response payload.
                accepts_response_payload=envelope_type == "slash_commands",
            )
        )
        return key

    def live(count: int) -> int | None:
        return count if fake_slack.socket_connection_count == count else None

    with Replicas(tmp_path) as group:
        # One at a time, so that A holds connection 1 and B connection 2.
        a = group.spawn("A", env)
        await group.until(lambda: live(1), "replica A's Socket Mode connection")
        b = group.spawn("B", {**env, "PORT": str(free_port())})
        await group.until(lambda: live(2), "replica B's Socket Mode connection")
        await group.healthy()
        assert len(fake_slack.calls_to("apps.connections.open")) == 2, group.logs()
        # The fake hands envelopes to its live sockets in turn, in the order they
        # connected, starting with the first: envelope k goes to connection k % 2 + 1.
        connection_of = {"A": 1, "B": 2}

        def sent_on(index: int) -> int:
            return index % 2 + 1

        # Ten commands at once, each its own page size, so each reply shows which it answers.
        limits = [2 + index for index in range(ENVELOPES)]
        commands = [
            send("slash_commands", partial(slash_payload, f"list {DEST_ID} limit={limit}"))
            for limit in limits
        ]
        for index, envelope_id in enumerate(sent):
            await group.until(
                partial(acks_of, fake_slack, envelope_id),
                f"the ack of envelope {index}",
            )
        replies = [
            await group.until(partial(reply_to, fake_slack, key), f"the answer to {key}")
            for key in commands
        ]

        # The Next button of a page listed through one connection; the round robin
        # delivers the press to the other replica, and the next press back to the first.
        source = limits.index(LIMIT)
        assert sent_on(source) != sent_on(len(sent)) != sent_on(len(sent) + 1)
        source_next = next_button(replies[source].payload)
        assert source_next is not None, replies[source].payload
        second_key = send(
            "interactive", lambda url: button_payload(NEXT_PAGE_ACTION, source_next, url)
        )
        second = await group.until(lambda: reply_to(fake_slack, second_key), "page 2's answer")
        second_next = next_button(second.payload)
        assert second_next is not None, second.payload
        third_key = send(
            "interactive", lambda url: button_payload(NEXT_PAGE_ACTION, second_next, url)
        )
        third = await group.until(lambda: reply_to(fake_slack, third_key), "page 3's answer")

        async with httpx.AsyncClient(timeout=10.0) as http:
            metrics = {r.name: (await http.get(f"{r.base_url}/metrics")).text for r in (a, b)}
    group.check_clean_exit()

    # Every envelope acked once, empty, on the connection it was sent on; both got some.
    for index, envelope_id in enumerate(sent):
        assert acks_of(fake_slack, envelope_id) == [
            (sent_on(index), {"envelope_id": envelope_id})
        ], f"envelope {index}: {acks_of(fake_slack, envelope_id)}\n{group.logs()}"
    acked_on = [
        connection
        for envelope_id in sent[:ENVELOPES]
        for connection, _ in acks_of(fake_slack, envelope_id) or []
    ]
    assert Counter(acked_on) == {1: ENVELOPES // 2, 2: ENVELOPES // 2}
    # Each process acked what came down its own connection: the commands, and one press.
    for name, connection in connection_of.items():
        commands_on_it = [i for i in range(ENVELOPES) if sent_on(i) == connection]
        assert ack_count(metrics[name], "command") == len(commands_on_it), metrics[name]
        assert ack_count(metrics[name], "interaction") == 1, metrics[name]

    # Each command answered once, with the right first page.
    assert answers_per_key(fake_slack, keys) == dict.fromkeys(keys, 1)
    for limit, reply in zip(limits, replies, strict=True):
        assert reply.payload["response_type"] == "ephemeral"
        assert names(reply) == expected[:limit], (limit, reply.payload)

    # The pages continue across the replicas with neither overlap nor gap.
    assert names(second) == expected[LIMIT : 2 * LIMIT], group.logs()
    assert names(third) == expected[2 * LIMIT :], group.logs()
    pages = names(replies[source]) + names(second) + names(third)
    assert len(set(pages)) == len(pages) == BACKUPS
    assert next_button(third.payload) is None
    assert second.payload["replace_original"] is True
    assert third.payload["replace_original"] is True
