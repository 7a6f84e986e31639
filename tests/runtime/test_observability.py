"""/metrics and /healthz of a running bot, against the fake servers."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot.runtime.server import BotServer
from tests.clock import FakeClock
from tests.databases import postgres_schema
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.processes import bot_env, free_port, spawn_bot, wait_for_health, watched_since
from tests.slack.conftest import bot_settings
from tests.slack.requests import sign, slash_command_body

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(port: int) -> Samples:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_metrics_count_what_a_running_bot_did(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """A real `run`: one poll with a 500 retried, two alerts, a 429 from Slack, a command."""
    database_url = f"sqlite:///{tmp_path}/bot.db"
    asyncio.run(watched_since(database_url, datetime.now(UTC) - timedelta(hours=1)))
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups(
        "dest-1",
        [
            make_backup("b1", name="orders", status="failed"),
            make_backup("b2", name="billing", status="aborted"),
        ],
    )
    fake_northflank.fail_next("500", path_contains="/backups")
    fake_slack.fail_next("chat.postMessage", "429")
    port = free_port()
    env = bot_env(
        northflank_url=fake_northflank.url,
        slack_api_url=fake_slack.api_url,
        port=port,
        DATABASE_URL=database_url,
        POLL_INTERVAL="30",
    )
    process = spawn_bot("run", env=env, cwd=tmp_path)
    try:
        wait_for_health(port, process)
        body = slash_command_body("help", fake_slack.response_url("help"))
        ack = httpx.post(
            f"http://127.0.0.1:{port}/slack/events", content=body, headers=sign(body), timeout=5
        )
        assert ack.status_code == 200
        fake_slack.wait_for_responses(1, timeout=10)
        # The 429 is retried after its Retry-After (1 s): the second call posts.
        fake_slack.wait_for_calls("chat.postMessage", 2, timeout=20)
        wait_until(
            lambda: value(scrape(port), "backupbot_delivery_queue_depth") == 0,
            "the outbox to empty",
        )
        samples = scrape(port)
        requests_seen_by_fake = fake_northflank.requests
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr

    assert value(samples, "backupbot_polls_total", outcome="ok") == 1
    assert value(samples, "backupbot_polls_total", outcome="failed") == 0
    assert value(samples, "backupbot_destination_polls_total", outcome="ok") == 1
    assert value(samples, "backupbot_alerts_total", event="failed") == 1
    assert value(samples, "backupbot_alerts_total", event="aborted") == 1
    # Every request the fake answered, by what it answered.
    assert value(samples, "backupbot_northflank_requests_total", outcome="server_error") == 1
    assert value(samples, "backupbot_northflank_requests_total", outcome="ok") == (
        len(requests_seen_by_fake) - 1
    )
    # The budget is what the last response's x-ratelimit-remaining said.
    assert value(samples, "backupbot_northflank_ratelimit_limit") == 1000
    assert value(samples, "backupbot_northflank_ratelimit_remaining") == (
        1000 - len(requests_seen_by_fake)
    )
    # Both alerts went out as one digest, at the second attempt.
    assert value(samples, "backupbot_delivery_attempts_total", kind="post") == 2
    assert value(samples, "backupbot_delivery_failures_total", result="retry") == 1
    assert value(samples, "backupbot_slack_ack_seconds_count", kind="command") == 1
    assert value(samples, "backupbot_slack_reply_seconds_count") == 1
    assert value(samples, "backupbot_last_successful_poll_timestamp_seconds") > 0


async def test_healthz_turns_503_when_polls_stop_and_names_the_reason(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack
) -> None:
    clock = FakeClock()
    server = BotServer(
        bot_settings(fake_northflank, fake_slack, poll_interval=30),
        host="127.0.0.1",
        clock=clock.now,
    )
    await server.start()
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            url = f"http://127.0.0.1:{server.port}/healthz"
            first = await http.get(url)
            assert first.status_code == 200, first.text
            assert server.scheduler is not None
            # The scheduler's first poll runs 2 s after start (real time).
            for _ in range(100):
                if server.scheduler.stats.last_success is not None:
                    break
                await asyncio.sleep(0.05)
            healthy = await http.get(url)
            assert healthy.json()["last_successful_poll"]["age_seconds"] == 0

            clock.advance(seconds=91)  # more than three 30 s intervals, no poll since
            stale = await http.get(url)
            assert stale.status_code == 503
            assert stale.json()["reasons"] == ["no poll has finished for 1m 31s"]

            server.scheduler.shutdown()
            stopped = await http.get(url)
            assert stopped.status_code == 503
            assert "the poll scheduler is not running" in stopped.json()["reasons"]
            assert stopped.json()["database"] == {"reachable": True}
    finally:
        await server.stop()


class _TcpProxy:
    """Forwards connections to PostgreSQL until cut, as a network partition would."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def open(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers |= {writer, up_writer}

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


@contextlib.asynccontextmanager
async def postgres_behind_proxy() -> AsyncIterator[tuple[str, _TcpProxy]]:
    from sqlalchemy.engine import make_url

    async with postgres_schema() as url:
        parsed = make_url(url)
        proxy = _TcpProxy(parsed.port or 5432)
        await proxy.open()
        yield parsed.set(port=proxy.port).render_as_string(hide_password=False), proxy


async def test_healthz_turns_503_when_the_database_is_unreachable_and_recovers(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack
) -> None:
    async with postgres_behind_proxy() as (database_url, proxy):
        server = BotServer(
            bot_settings(fake_northflank, fake_slack, database_url=database_url),
            host="127.0.0.1",
            schedule_polls=False,
        )
        await server.start()
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                url = f"http://127.0.0.1:{server.port}/healthz"
                assert (await http.get(url)).status_code == 200

                await proxy.cut()
                down = await http.get(url)
                assert down.status_code == 503
                assert down.json()["database"]["reachable"] is False
                (reason,) = down.json()["reasons"]
                assert reason.startswith("the database is unreachable (")
                # /metrics still answers, with the queue depth unknown.
                metrics = await http.get(f"http://127.0.0.1:{server.port}/metrics")
                assert metrics.status_code == 200
                assert "backupbot_delivery_queue_depth NaN" in metrics.text

                await proxy.open(proxy.port)
                for _ in range(50):
                    if (await http.get(url)).status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("/healthz did not recover with the database")
        finally:
            await proxy.cut()
            await server.stop()
