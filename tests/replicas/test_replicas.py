"""Several `python -m bot run` processes on one PostgreSQL database, as in production.

Each replica is a real process with its own event loop, connection pool and
Northflank and Slack clients; they share only the database and the fakes.
The fake Northflank answers slowly (LATENCY per request), so that a poll takes
long enough for the replicas to overlap and for a kill to land mid-poll.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.store import OutboxState, Store, check_schema, upgrade
from bot.store.tables import metadata
from tests.databases import postgres_schema
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.figures import report
from tests.processes import bot_env, clean_env, free_port, wait_for_health
from tests.store.test_migrate import _schema_diff
from tests.strings import texts_in

# Each takes tens of seconds of wall clock (real processes, real intervals).
pytestmark = pytest.mark.slow

POLL_INTERVAL = 30  # seconds: the least the bot accepts
LEASE_SECONDS = 5  # the least the bot accepts
LATENCY = 0.4  # seconds per Northflank request
DESTINATIONS = [Destination(f"dest-{i:02}", f"Database {i:02}") for i in range(20)]
CHANNELS = ("C0REPLICA1", "C0REPLICA2", "C0REPLICA3", "C0REPLICA4")
# How an alert names its backup in a message section: ":x: *Failed* · *bk-...*".
ALERT_LINE = re.compile(r"\*(Failed|Aborted)\* · \*(bk-[a-z0-9-]+)\*")
STOP_TIMEOUT = 30.0

AlertKey = tuple[str, str]  # channel, backup name


@pytest.fixture
async def shared_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL schema: the replicas' one database (skipped without PostgreSQL)."""
    async with postgres_schema() as url:
        yield url


@dataclass
class ReplicaProcess:
    """One `python -m bot run`, its log in a file (a full pipe would stall it)."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def spawn(cls, name: str, env: dict[str, str], folder: Path) -> ReplicaProcess:
        log = folder / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=env,
                cwd=folder,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        return cls(name, int(env["PORT"]), process, log)

    @property
    def pid(self) -> int:
        return self.process.pid

    def owns(self, owner: str | None) -> bool:
        """Whether a lease or claim owner id is this process's (`host-PID-suffix`)."""
        return owner is not None and f"-{self.pid}-" in owner

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def metric(self, name: str, **labels: str) -> float:
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
        line = f"{name}{{{wanted}}} " if labels else f"{name} "
        for row in text.splitlines():
            if row.startswith(line):
                return float(row.split()[-1])
        return 0.0

    def terminate(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"{self.name} ignored SIGTERM:\n{self.output()}") from None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_TIMEOUT)


class Cluster:
    def __init__(
        self, database_url: str, northflank: FakeNorthflank, slack: FakeSlack, folder: Path
    ) -> None:
        self.database_url = database_url
        self.northflank = northflank
        self.slack = slack
        self.folder = folder
        self.replicas: list[ReplicaProcess] = []
        self.due: set[AlertKey] = set()

    def start(self, n: int) -> list[ReplicaProcess]:
        started = []
        for _ in range(n):
            env = bot_env(
                northflank_url=self.northflank.url,
                slack_api_url=self.slack.api_url,
                port=free_port(),
                DATABASE_URL=self.database_url,
                POLL_INTERVAL=str(POLL_INTERVAL),
                LEASE_SECONDS=str(LEASE_SECONDS),
            )
            replica = ReplicaProcess.spawn(f"replica-{len(self.replicas)}", env, self.folder)
            self.replicas.append(replica)
            started.append(replica)
        for replica in started:
            wait_for_health(replica.port, replica.process)  # type: ignore[arg-type]
        return started

    def stop_all(self) -> None:
        for replica in self.replicas:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            replica.terminate()

    def logs(self) -> str:
        return "\n".join(f"--- {r.name} (pid {r.pid})\n{r.output()[-4000:]}" for r in self.replicas)

    async def watch_everything(self, store: Store) -> None:
        """Each channel watches five destinations; each destination holds history."""
        since = datetime.now(UTC) - timedelta(minutes=10)
        for index, destination in enumerate(DESTINATIONS):
            self.northflank.add_destination(destination.id, destination.name)
            self.northflank.add_backups(
                destination.id,
                [
                    make_backup(
                        f"{destination.id}-old",
                        name=f"old-{destination.id}",
                        created_at=since - timedelta(hours=1),
                    )
                ],
            )
            await store.save_watch(
                CHANNELS[index % len(CHANNELS)], destination, WatchSettings(), "U0OPS", since
            )

    def fail_backups(self, tag: str) -> None:
        """A new failed backup in every destination: one alert due for each."""
        now = datetime.now(UTC)
        for index, destination in enumerate(DESTINATIONS):
            name = f"bk-{destination.id}-{tag}"
            self.northflank.add_backups(
                destination.id,
                [
                    make_backup(
                        f"{destination.id}-{tag}",
                        name=name,
                        status="failed",
                        created_at=now - timedelta(minutes=2),
                        completed_at=now,
                    )
                ],
            )
            self.due.add((CHANNELS[index % len(CHANNELS)], name))

    def posted_alerts(self) -> Counter[AlertKey]:
        seen: Counter[AlertKey] = Counter()
        for channel in CHANNELS:
            for message in self.slack.posted(channel):
                for line in texts_in(message.get("blocks", [])):
                    for _event, backup in ALERT_LINE.findall(line):
                        seen[(channel, backup)] += 1
        return seen

    async def wait_for_alerts(self, within: float) -> Counter[AlertKey]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            posted = self.posted_alerts()
            if self.due <= set(posted):
                return posted
            await asyncio.sleep(0.1)
        missing = sorted(self.due - set(self.posted_alerts()))
        raise AssertionError(f"alerts never posted: {missing}\n{self.logs()}")

    def first_page_fetches(self) -> dict[str, list[float]]:
        """Per destination, when its first page was asked for: one poll each."""
        fetches: dict[str, list[float]] = {d.id: [] for d in DESTINATIONS}
        for request in self.northflank.requests:
            parts = request.path.strip("/").split("/")
            if parts[-1] == "backups" and "cursor" not in request.query and parts[-2] in fetches:
                fetches[parts[-2]].append(request.at)
        return fetches


@pytest.fixture
def roomy_northflank() -> Iterator[FakeNorthflank]:
    """Slow, but with budget to spare: polling 20 destinations every 30 s needs 2,400
    requests an hour, more than Northflank's default 1,000, and the bot would rightly
    stretch its polls (the benchmark shows that limit)."""
    with FakeNorthflank(rate_limit=100_000, latency=LATENCY) as fake:
        yield fake


@pytest.fixture
async def cluster(
    shared_database: str, roomy_northflank: FakeNorthflank, fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[tuple[Cluster, Store]]:
    await upgrade(shared_database)
    store = Store.connect(shared_database)
    world = Cluster(shared_database, roomy_northflank, fake_slack, tmp_path)
    try:
        await world.watch_everything(store)
        yield world, store
    finally:
        try:
            world.stop_all()
        finally:
            await store.close()


async def _wait_until(condition: Any, within: float, what: str, world: Cluster) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        value = await condition()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} within {within} s\n{world.logs()}")


async def test_three_replicas_post_each_alert_once_and_fetch_each_destination_once_an_interval(
    cluster: tuple[Cluster, Store],
) -> None:
    world, store = cluster
    world.fail_backups("first")
    replicas = world.start(3)

    posted = await world.wait_for_alerts(within=40)
    # The second interval: every destination is due again, and polled again, once.
    await _wait_until(
        lambda: _all_polled_twice(world), POLL_INTERVAL + 15, "no second round of polls", world
    )

    def polls_per_replica() -> list[int]:
        return [int(r.metric("backupbot_destination_polls_total", outcome="ok")) for r in replicas]

    async def cycles_counted() -> bool:
        # A replica counts its polls when its whole cycle ends, a little after the fetches.
        return sum(await asyncio.to_thread(polls_per_replica)) >= 2 * len(DESTINATIONS)

    await _wait_until(cycles_counted, 15, "the replicas' poll cycles did not end", world)
    shares = polls_per_replica()

    async def each_counts_three() -> bool:
        seen = await asyncio.to_thread(lambda: [r.metric("backupbot_replicas") for r in replicas])
        return seen == [3.0, 3.0, 3.0]

    await _wait_until(each_counts_three, 5, "the replicas did not see each other", world)
    posts = Counter(
        replica.name
        for item in await store.outbox_items(states=[OutboxState.DELIVERED.value])
        for replica in replicas
        if replica.owns(item.claimed_by)
    )
    world.stop_all()
    await asyncio.sleep(0.5)  # any last post the fake is still answering

    assert posted == Counter(dict.fromkeys(world.due, 1)), world.logs()
    assert world.posted_alerts() == posted  # nothing posted twice after the wait either
    fetches = world.first_page_fetches()
    for destination_id, times in fetches.items():
        assert len(times) == 2, (destination_id, times)
        gap = times[1] - times[0]
        assert gap >= 0.9 * POLL_INTERVAL - 1, (destination_id, gap)
    assert sum(shares) == 2 * len(DESTINATIONS)
    # The work was shared, not done by whichever replica woke first.
    assert sum(1 for share in shares if share) >= 2, shares
    report(
        "Three replicas, 20 destinations, two poll intervals",
        ("replica", "destination polls", "messages posted"),
        [(r.name, share, posts[r.name]) for r, share in zip(replicas, shares, strict=True)],
    )


async def _all_polled_twice(world: Cluster) -> bool:
    return all(len(times) >= 2 for times in world.first_page_fetches().values())


async def test_a_replica_killed_mid_poll_is_taken_over_within_the_lease(
    cluster: tuple[Cluster, Store],
) -> None:
    world, store = cluster
    world.fail_backups("first")
    victim, survivor = world.start(2)
    assert survivor.process.poll() is None

    async def victims_leases() -> dict[str, datetime]:
        return {
            d: until for d, (owner, until) in (await store.leases()).items() if victim.owns(owner)
        }

    held = await _wait_until(victims_leases, 20, "the victim never held a lease", world)
    claims_in_flight = [
        item.id
        for item in await store.outbox_items(states=[OutboxState.PENDING.value])
        if victim.owns(item.claimed_by)
    ]
    victim.kill()
    killed_at = datetime.now(UTC)
    kill_clock = time.monotonic()

    async def taken_over() -> bool:
        statuses = await store.poll_statuses(list(held))
        return all(
            status.last_poll_at is not None and status.last_poll_at > killed_at
            for status in (statuses.get(d) for d in held)
            if status is not None
        ) and len(statuses) == len(held)

    await _wait_until(
        taken_over, LEASE_SECONDS + 15, "the dead replica's work was not taken over", world
    )
    took = time.monotonic() - kill_clock
    posted = await world.wait_for_alerts(within=30)
    await asyncio.sleep(1.0)
    posted = world.posted_alerts()

    # Nothing lost; a second copy only of what the victim was posting when it died.
    assert set(posted) == world.due
    doubled = sum(count - 1 for count in posted.values())
    assert doubled <= len(claims_in_flight), (posted, claims_in_flight)
    leases = await store.leases()
    assert not any(victim.owns(owner) for owner, _until in leases.values())
    # Taken over when the leases ran out, not a poll interval later.
    latest_expiry = max(held.values())
    assert took < POLL_INTERVAL, took
    report(
        "kill -9 of a replica mid-poll (LEASE_SECONDS=5, POLL_INTERVAL=30)",
        (
            "destinations it held",
            "lease left at the kill",
            "taken over after",
            "alerts due",
            "lost",
            "posted twice",
        ),
        [
            (
                len(held),
                f"{(latest_expiry - killed_at).total_seconds():.1f} s",
                f"{took:.1f} s",
                len(world.due),
                len(world.due - set(posted)),
                doubled,
            )
        ],
    )


async def test_sigterm_finishes_the_polls_in_flight_and_gives_back_every_claim(
    cluster: tuple[Cluster, Store],
) -> None:
    world, store = cluster
    world.fail_backups("first")
    leaving, staying = world.start(2)

    async def leavings_leases() -> set[str]:
        return {d for d, (owner, _until) in (await store.leases()).items() if leaving.owns(owner)}

    held = await _wait_until(leavings_leases, 20, "the replica never held a lease", world)
    asked_at = datetime.now(UTC)
    leaving.process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(leaving.terminate)

    assert code == 0, leaving.output()
    # What it was polling was finished and recorded, not dropped half-way.
    statuses = await store.poll_statuses(list(held))
    assert set(statuses) == held
    assert all(s.last_poll_at is not None and s.last_poll_at >= asked_at for s in statuses.values())
    # And it left nothing behind for the other replica to wait out.
    leases = await store.leases()
    assert not any(leaving.owns(owner) for owner, _until in leases.values())
    pending = await store.outbox_items(states=[OutboxState.PENDING.value])
    assert not any(leaving.owns(item.claimed_by) for item in pending)
    live = await store.live_replicas(seen_since=datetime.now(UTC) - timedelta(minutes=5))
    assert [leaving.owns(r.id) for r in live] == [False]
    assert "released this replica's claims" in leaving.output()
    # The other replica carries on: every alert still goes out, once.
    posted = await world.wait_for_alerts(within=30)
    assert posted == Counter(dict.fromkeys(world.due, 1)), world.logs()
    assert staying.process.poll() is None


async def test_three_replicas_starting_together_on_an_empty_database_migrate_once(
    shared_database: str, tmp_path: Path
) -> None:

    env = clean_env(DATABASE_URL=shared_database)
    upgrades = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "db",
            "upgrade",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(3)
    ]
    async with asyncio.timeout(60):
        outputs = await asyncio.gather(*(p.communicate() for p in upgrades))
    results = [(out.decode(), err.decode()) for out, err in outputs]
    assert [p.returncode for p in upgrades] == [0, 0, 0], results
    await check_schema(shared_database)
    assert await _schema_diff(shared_database, metadata) == []
    # The first to take the lock ran the migrations; the others found nothing to do.
    ran = [err for _out, err in results if "Running upgrade" in err]
    assert len(ran) == 1, results
