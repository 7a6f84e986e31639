"""kill -9 the bot at random moments over 20 restarts: no alert is lost.

The bot runs as a real process (`python -m bot run`) against the fake
Northflank and the fake Slack, its database shared by every restart. Before
each restart the test adds new failed and aborted backups to the watched
destinations; then the process is killed with SIGKILL at a moment drawn from
a seeded generator, uniformly from 0.3 s to 5 s after it was spawned. The bot
is up after about 1.5 s, polls 2 s later and posts what is due, so kills land
while Python imports, mid-poll, with a post in flight and in between. The
migration step of a restart takes some 20 ms, which random kills seldom hit,
so two more kills are aimed at the first migration, on the empty database.
A last process then runs until every alert has been posted and the outbox is
empty, and stops with SIGTERM.

What Slack received is then checked against what was due (channel × backup
× event): nothing may be missing, nothing may be extra, and a message may be
posted twice only if its first copy was in flight when a process was killed:
it reached Slack during that process's life and its answer did not reach the
process in time for the delivery to be recorded. Delivery posts one message
at a time, so each kill may explain one such message, no more.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import statistics
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import inspect

from bot.store import OutboxState, Store, engine_for
from bot.store.tables import Base
from tests.crash.conftest import CrashTables
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack, SlackCall
from tests.processes import bot_env, free_port, spawn_bot, wait_for_health
from tests.slack.requests import sign, slash_command_body
from tests.strings import texts_in

RESTARTS = 20
# CRASH_SEED replays a run's choices (kill moments, backups, Slack latencies); the
# seed is in the figures table.
SEED = int(os.environ.get("CRASH_SEED", "20240605"))
KILL_AFTER = (0.3, 5.0)  # seconds after spawn, uniform
# Slack answers each chat.postMessage this much later (uniform), so that a kill can
# find a post in flight: posted in Slack, its ts not yet back in the bot.
POST_LATENCY = (0.1, 0.3)
# From outside, "in flight at the kill" is known only up to this much. On the way in,
# a request the bot wrote just before it died may be read by the fake a little later.
# On the way out, after Slack answers, the bot still has to parse the answer and
# commit one small UPDATE (mark_delivered) before the delivery is on record: a few
# milliseconds to a few tens on this machine, so half a second is generous. A copy
# answered longer than this before the kill should have been recorded, and posting
# it again would be a bug.
IN_FLIGHT_MARGIN = 0.5
POLL_INTERVAL = timedelta(seconds=30)  # the least the bot accepts
LEASE_SECONDS = 5  # the least the bot accepts
# The last run: start-up and the first poll take about 4 s; the rest is posting the
# backlog at one message a second per channel.
LAST_RUN_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

ADMIN = "U0CRASHADM"
DESTINATIONS = {"dest-a": "Orders", "dest-b": "Billing", "dest-c": "Search"}
ADDONS = ("pg", "redis")
# Five channels over three destinations: posts for different channels interleave, and
# two channels hear about two destinations each.
WATCHES = {
    "C0CRASH1": ("dest-a",),
    "C0CRASH2": ("dest-a", "dest-b"),
    "C0CRASH3": ("dest-b",),
    "C0CRASH4": ("dest-c",),
    "C0CRASH5": ("dest-a", "dest-c"),
}
FAILURES_PER_DESTINATION = (0, 3)  # new failed or aborted backups per restart, uniform
FAILED_SHARE = 0.7  # the others abort
# How an alert names its backup in a message section: ":x: *Failed* · *bk-...*".
ALERT_LINE = re.compile(r"\*(Failed|Aborted)\* · \*(bk-[a-z0-9-]+)\*")

AlertKey = tuple[str, str, str]  # channel, event, backup name
# What each process of the run is for.
FIRST_MIGRATION = "killed during the first migration"
SET_UP = "sets up the watches, stopped with SIGTERM"
RANDOM_KILL = "killed at a random moment"
LAST_RUN = "runs until everything is posted, stopped with SIGTERM"
# What a randomly killed process was doing at the time.
STARTING = "starting (imports)"
MIGRATING = "migrating"
POLLING = "polling"
POSTING = "post in flight"
OTHER = "other (idle, between posts)"
PHASES = (STARTING, MIGRATING, POLLING, POSTING, OTHER)
SCHEMA_TABLES = {*Base.metadata.tables, "alembic_version"}


# ----- the processes ---------------------------------------------------------------------


@dataclass
class Life:
    """One bot process, from spawn to its death."""

    number: int  # its place among the run's processes, from 0
    role: str  # FIRST_MIGRATION, SET_UP, RANDOM_KILL or LAST_RUN
    port: int
    process: subprocess.Popen[str]
    spawned_at: float  # time.monotonic(), the clock the fakes record arrivals in
    killed_at: float | None = None
    kill_after: float | None = None
    _lines: list[str] = field(default_factory=list)
    _output_closed: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _readers: list[threading.Thread] = field(default_factory=list)

    @classmethod
    def spawn(cls, number: int, role: str, env: dict[str, str], cwd: Path) -> Life:
        spawned_at = time.monotonic()
        process = spawn_bot("run", env=env, cwd=cwd)
        life = cls(number, role, int(env["PORT"]), process, spawned_at)
        # Read its output all along: a full pipe would stall the bot's logging.
        life._readers = [
            threading.Thread(target=life._read_log, daemon=True),
            threading.Thread(target=life._drain_stdout, daemon=True),
        ]
        for reader in life._readers:
            reader.start()
        return life

    @property
    def stderr(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def _read_log(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._output_closed = True
            self._changed.notify_all()

    def _drain_stdout(self) -> None:
        assert self.process.stdout is not None
        self.process.stdout.read()

    async def wait_for_log(self, *texts: str) -> None:
        """Until a log line holds one of `texts` (or the process is gone)."""

        def logged() -> bool:
            return self._output_closed or any(t in line for line in self._lines for t in texts)

        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(logged, timeout=STOP_TIMEOUT)

        if not await asyncio.to_thread(wait):
            raise AssertionError(f"life {self.number} never logged {texts}:\n{self.stderr}")

    async def kill_at(self, after: float) -> None:
        """SIGKILL `after` seconds after spawn (it must still be running by then)."""
        self.kill_after = after
        await asyncio.sleep(max(0.0, self.spawned_at + after - time.monotonic()))
        await self.kill()

    async def kill(self) -> None:
        if self.process.poll() is not None:
            await self.wait()
            raise AssertionError(f"life {self.number} exited by itself:\n{self.stderr}")
        self.killed_at = time.monotonic()
        self.process.send_signal(signal.SIGKILL)
        await self.wait()

    async def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        await self.wait()

    async def wait(self) -> None:
        for reader in self._readers:
            await asyncio.to_thread(reader.join, STOP_TIMEOUT)
        if any(reader.is_alive() for reader in self._readers):
            self.process.kill()
            raise AssertionError(f"life {self.number} did not exit:\n{self.stderr}")
        await asyncio.to_thread(self.process.wait, STOP_TIMEOUT)


# ----- the world the bot watches -----------------------------------------------------------


@dataclass
class CrashRun:
    northflank: FakeNorthflank
    slack: FakeSlack
    database_url: str
    cwd: Path
    rng: random.Random
    store: Store
    lives: list[Life] = field(default_factory=list)
    due: set[AlertKey] = field(default_factory=set)
    watching_since: datetime | None = None

    def env(self) -> dict[str, str]:
        return bot_env(
            northflank_url=self.northflank.url,
            slack_api_url=self.slack.api_url,
            port=free_port(),
            DATABASE_URL=self.database_url,
            POLL_INTERVAL=str(int(POLL_INTERVAL.total_seconds())),
            # A killed process's leases hold its destinations this long; the next
            # life polls them when they run out.
            LEASE_SECONDS=str(LEASE_SECONDS),
        )

    def spawn(self, role: str) -> Life:
        life = Life.spawn(len(self.lives), role, self.env(), self.cwd)
        self.lives.append(life)
        return life

    def add_history(self) -> None:
        """Backups from before the watch, one of them failed: history, never an alert."""
        now = datetime.now(UTC)
        for dest, name in DESTINATIONS.items():
            self.northflank.add_destination(dest, name)
            self.northflank.add_backups(
                dest,
                [
                    *(
                        make_backup(
                            f"{dest}-old-{day}",
                            name=f"old-{dest}-{day}",
                            created_at=now - timedelta(days=day),
                            addon=(f"{dest}-{ADDONS[0]}", f"{name.lower()}-{ADDONS[0]}"),
                        )
                        for day in (1, 2, 3)
                    ),
                    make_backup(
                        f"{dest}-old-bad",
                        name=f"old-bad-{dest}",
                        status="failed",
                        created_at=now - timedelta(hours=12),
                        addon=(f"{dest}-{ADDONS[1]}", f"{name.lower()}-{ADDONS[1]}"),
                    ),
                ],
            )

    async def kill_during_the_first_migration(self) -> bool:
        """Kill a bot as it creates the schema; True if the kill left no schema at all.

        Alembic logs "Running upgrade" just before the DDL; on an empty database the
        migration then takes some tens of milliseconds, and the kill follows the log
        line within a millisecond or two. Either way the database must hold all of the
        schema or none of it: half a schema would stop every later start.
        """
        life = self.spawn(FIRST_MIGRATION)
        await life.wait_for_log("Running upgrade", "backup-bot is up")
        await life.kill()
        tables = await table_names(self.database_url)
        assert tables in (set(), SCHEMA_TABLES), f"half a schema: {sorted(tables)}"
        return not tables

    async def set_up_watches(self) -> None:
        """Each channel runs `/backups watch DEST`, as a person would; then SIGTERM."""
        life = self.spawn(SET_UP)
        await asyncio.to_thread(wait_for_health, life.port, life.process)
        async with httpx.AsyncClient(timeout=10.0) as http:
            for channel, destinations in WATCHES.items():
                for dest in destinations:
                    reply = await self.slash(http, life.port, f"watch {dest}", channel)
                    assert DESTINATIONS[dest] in reply, reply
        self.watching_since = datetime.now(UTC)
        await life.stop()
        assert life.process.returncode == 0, life.stderr
        watches = await self.store.pollable_watches()
        assert len(watches) == sum(len(d) for d in WATCHES.values())

    async def slash(self, http: httpx.AsyncClient, port: int, text: str, channel: str) -> str:
        key = f"crash-{channel}-{text}"
        body = slash_command_body(text, self.slack.response_url(key), user=ADMIN, channel=channel)
        ack = await http.post(
            f"http://127.0.0.1:{port}/slack/events", content=body, headers=sign(body)
        )
        assert ack.status_code == 200, ack.text
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            replies = [r for r in self.slack.responses if r.key == key]
            if replies:
                return "\n".join(texts_in(replies[0].payload))
            await asyncio.sleep(0.02)
        raise AssertionError(f"no reply to /backups {text} in {channel}")

    def add_failures(self, batch: int) -> None:
        """New failed and aborted backups, created after the watches began; what is now due."""
        assert self.watching_since is not None
        now = datetime.now(UTC)
        for dest, name in DESTINATIONS.items():
            backups = []
            for index in range(self.rng.randint(*FAILURES_PER_DESTINATION)):
                status = "failed" if self.rng.random() < FAILED_SHARE else "aborted"
                addon = self.rng.choice(ADDONS)
                backup_id = f"{dest}-{batch:02d}-{index}"
                # Started some time after the watches began, finished (badly) just now.
                started = self.watching_since + (now - self.watching_since) * self.rng.random()
                backups.append(
                    make_backup(
                        backup_id,
                        name=f"bk-{backup_id}",
                        status=status,
                        created_at=started,
                        completed_at=now,
                        addon=(f"{dest}-{addon}", f"{name.lower()}-{addon}"),
                    )
                )
                for channel, watched in WATCHES.items():
                    if dest in watched:
                        self.due.add((channel, status, f"bk-{backup_id}"))
            self.northflank.add_backups(dest, backups)

    async def pretend_an_interval_passed(self) -> None:
        """Make every destination due for a poll, as it would be a poll interval later.

        A restarted bot polls only destinations not polled in the last interval
        (30 s at least), and its clock is the wall clock; without this, 20 restarts
        a few seconds apart would poll twice or three times in all. Done while no
        bot process runs.
        """
        earlier = datetime.now(UTC) - POLL_INTERVAL
        for dest in DESTINATIONS:
            await self.store.record_poll_success(dest, earlier)

    async def run_and_kill(self, after: float) -> Life:
        life = self.spawn(RANDOM_KILL)
        await life.kill_at(after)
        return life

    async def run_until_all_posted(self) -> float | None:
        """The last life: until every due alert is in Slack and the outbox is empty.

        Returns how long that took, or None if it never happened (the counts say why).
        """
        life = self.spawn(LAST_RUN)
        deadline = life.spawned_at + LAST_RUN_TIMEOUT
        done_after: float | None = None
        while time.monotonic() < deadline and life.process.poll() is None:
            if self.due <= delivered(self.alert_posts()) and await self.store.outbox_depth() == 0:
                done_after = time.monotonic() - life.spawned_at
                break
            await asyncio.sleep(0.25)
        await life.stop()
        assert life.process.returncode == 0, life.stderr
        return done_after

    @property
    def random_kills(self) -> list[Life]:
        return [life for life in self.lives if life.role == RANDOM_KILL]

    def alert_posts(self) -> list[Post]:
        """Top-level chat.postMessage calls Slack accepted after the watches were set up."""
        first_killed = min((life.spawned_at for life in self.random_kills), default=float("inf"))
        return [
            Post.of(call)
            for call in self.slack.calls_to("chat.postMessage")
            if call.at >= first_killed
            and call.answer is not None
            and call.answer.get("ok")
            and not call.params.get("thread_ts")
        ]

    def life_at(self, moment: float) -> Life:
        """The process that was running (or had just died) at `moment`."""
        return [life for life in self.lives if life.spawned_at <= moment][-1]


# ----- what Slack received -------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    call: SlackCall
    channel: str
    alerts: frozenset[tuple[str, str]]  # (event, backup name)

    @classmethod
    def of(cls, call: SlackCall) -> Post:
        named = {
            (word.lower(), name)
            for text in texts_in(call.params.get("blocks", []))
            for word, name in ALERT_LINE.findall(text)
        }
        return cls(call, str(call.params["channel"]), frozenset(named))

    def alert_keys(self) -> Iterator[AlertKey]:
        for event, name in self.alerts:
            yield self.channel, event, name


def delivered(posts: list[Post]) -> set[AlertKey]:
    return {key for post in posts for key in post.alert_keys()}


@dataclass
class Tally:
    due: int
    delivered: int
    lost: list[AlertKey]
    unexpected: list[AlertKey]
    unreadable: list[Post]  # posts that name no alert the test can read
    superseded: list[Post]  # copies of a message that was posted again later
    unexplained: list[str]  # superseded copies no kill explains, and why
    duplicated_alerts: int
    kills_with_a_duplicate: int


def tally(run: CrashRun) -> Tally:
    posts = run.alert_posts()
    unreadable = [post for post in posts if not post.alerts]
    got = delivered(posts)
    # Two copies of one outbox row name the same alerts in the same channel. An alert
    # in two different messages would be two rows: the ledger failed, a kill cannot
    # explain that.
    copies: dict[tuple[str, frozenset[tuple[str, str]]], list[Post]] = defaultdict(list)
    for post in posts:
        if post.alerts:
            copies[(post.channel, post.alerts)].append(post)
    unexplained: list[str] = []
    carriers: dict[AlertKey, set[frozenset[tuple[str, str]]]] = defaultdict(set)
    for (channel, alerts), _ in copies.items():
        for event, name in alerts:
            carriers[(channel, event, name)].add(alerts)
    for key, messages in sorted(carriers.items()):
        if len(messages) > 1:
            unexplained.append(f"{key} is in {len(messages)} different messages")
    superseded: list[Post] = []
    explained_by: dict[int, Post] = {}
    for same in copies.values():
        same.sort(key=lambda post: post.call.at)
        for post in same[:-1]:
            superseded.append(post)
            why_not = in_flight_at_a_kill(run, post.call)
            life = run.life_at(post.call.at)
            if why_not is None and life.number in explained_by:
                why_not = f"life {life.number}'s kill already explains another copy"
            if why_not is None:
                explained_by[life.number] = post
            else:
                unexplained.append(f"{post.channel} {sorted(post.alerts)}: {why_not}")
    return Tally(
        due=len(run.due),
        delivered=len(run.due & got),
        lost=sorted(run.due - got),
        unexpected=sorted(got - run.due),
        unreadable=unreadable,
        superseded=superseded,
        unexplained=unexplained,
        duplicated_alerts=sum(len(post.alerts) for post in superseded),
        kills_with_a_duplicate=len(explained_by),
    )


def in_flight_at_a_kill(run: CrashRun, call: SlackCall) -> str | None:
    """None if `call` was in flight when its process was killed; otherwise why not."""
    life = run.life_at(call.at)
    if life.killed_at is None:
        return f"it came from life {life.number}, which was not killed"
    if call.at > life.killed_at + IN_FLIGHT_MARGIN:
        return f"it arrived {call.at - life.killed_at:.3f} s after life {life.number}'s kill"
    if call.answered_at is not None and call.answered_at < life.killed_at - IN_FLIGHT_MARGIN:
        early = life.killed_at - call.answered_at
        return f"it was answered {early:.3f} s before life {life.number}'s kill"
    return None


async def table_names(database_url: str) -> set[str]:
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


def kill_phase(run: CrashRun, life: Life) -> str:
    """What the process was doing when it died, as far as its log and the fakes tell."""
    assert life.killed_at is not None
    for call in run.slack.calls_to("chat.postMessage"):
        if run.life_at(call.at) is life and (
            call.answered_at is None or call.answered_at >= life.killed_at
        ):
            return POSTING
    if "backup-bot is up" not in life.stderr:
        return MIGRATING if "upgrading the database schema" in life.stderr else STARTING
    polled = any(
        run.life_at(request.at) is life and request.path.endswith("/backups")
        for request in run.northflank.requests
        if request.at >= life.spawned_at
    )
    if polled and "poll done" not in life.stderr:
        return POLLING
    return OTHER


# ----- the test --------------------------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The fake Slack, its latencies drawn from the run's seed."""
    with FakeSlack(latency_seed=SEED) as fake:
        yield fake


@pytest.mark.slow
async def test_kill_9_at_random_moments_loses_no_alert(
    fake_northflank: FakeNorthflank,
    slack: FakeSlack,
    database_url: str,
    tmp_path: Path,
    crash_tables: CrashTables,
) -> None:
    store = Store.connect(database_url)
    run = CrashRun(fake_northflank, slack, database_url, tmp_path, random.Random(SEED), store)
    try:
        migration_kills = [await run.kill_during_the_first_migration() for _ in range(2)]
        run.add_history()
        await run.set_up_watches()
        slack.set_latency("chat.postMessage", *POST_LATENCY)
        for number in range(1, RESTARTS + 1):
            run.add_failures(number)
            await run.pretend_an_interval_passed()
            await run.run_and_kill(run.rng.uniform(*KILL_AFTER))
        run.add_failures(RESTARTS + 1)
        await run.pretend_an_interval_passed()
        all_posted_after = await run.run_until_all_posted()
        failed_rows = await store.outbox_items(states=[OutboxState.FAILED.value])
        left_in_outbox = await store.outbox_depth()
    finally:
        for life in run.lives:
            if life.process.poll() is None:  # the test failed half-way
                life.process.kill()
        await store.close()

    counts = tally(run)
    killed = run.random_kills
    report_figures(run, counts, all_posted_after, migration_kills, crash_tables, database_url)

    assert len(killed) == RESTARTS and all(life.killed_at is not None for life in killed)
    assert counts.unreadable == [], "posts that name no alert (has the alert layout changed?)"
    assert counts.lost == [], f"{len(counts.lost)} alerts never reached Slack"
    assert counts.unexpected == [], "alerts posted that nothing called for"
    assert counts.unexplained == [], "duplicates that no kill explains"
    assert len(counts.superseded) <= len(killed)
    assert counts.kills_with_a_duplicate == len(counts.superseded)
    assert (left_in_outbox, failed_rows) == (0, [])
    assert all_posted_after is not None
    tracebacks = [life.stderr for life in run.lives if "Traceback" in life.stderr]
    assert tracebacks == [], tracebacks[0] if tracebacks else ""


def report_figures(
    run: CrashRun,
    counts: Tally,
    all_posted_after: float | None,
    migration_kills: list[bool],
    tables: CrashTables,
    database_url: str,
) -> None:
    killed = run.random_kills
    database = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    afters = [life.kill_after for life in killed if life.kill_after is not None]
    spread = f"{min(afters):.2f} / {statistics.median(afters):.2f} / {max(afters):.2f} s"
    # How long before its kill each explained copy was answered: the bot had the answer
    # but had not recorded it yet. IN_FLIGHT_MARGIN bounds this; show how close it came.
    # An answer the fake sent after the kill (before it saw the client go) never arrived.
    answered_before = [
        killed_at - post.call.answered_at
        for post in counts.superseded
        if post.call.answered_at is not None
        and (killed_at := run.life_at(post.call.at).killed_at) is not None
        and post.call.answered_at < killed_at
    ]
    in_flight = f"{len(counts.superseded) - len(answered_before)} not answered before the kill"
    if answered_before:
        in_flight += f", {len(answered_before)} answered ≤ {max(answered_before):.3f} s before"
    tables.add(
        "Crash test: kill -9 at random moments, then one clean run",
        (
            "database",
            "seed",
            "restarts (kill -9)",
            "killed after (min / median / max)",
            "alerts due",
            "delivered",
            "duplicated (in flight at a kill)",
            "lost",
            "last run: all posted after",
        ),
        (
            database,
            SEED,
            len(killed),
            spread,
            counts.due,
            counts.delivered,
            f"{counts.duplicated_alerts} alerts in {len(counts.superseded)} posts ({in_flight})",
            len(counts.lost),
            f"{all_posted_after:.1f} s" if all_posted_after is not None else "never",
        ),
    )
    phases = [kill_phase(run, life) for life in killed]
    tables.add(
        "Crash test: what the bot was doing when it was killed",
        ("database", *PHASES, "aimed at the first migration"),
        (
            database,
            *(phases.count(phase) for phase in PHASES),
            f"{sum(migration_kills)} of {len(migration_kills)} mid-way",
        ),
    )
