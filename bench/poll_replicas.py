"""Polling 1,000 watched destinations with 1, 2 and 3 replicas (issue 5).

    .venv/bin/python -m bench.poll_replicas [--cold]

The fake Northflank answers every request after 50 ms, in a process of its own
(bench.poll_replica_child northflank); each replica is a process of its own too
(bench.poll_replica_child replica), wired as BotServer wires polling, and they share
one PostgreSQL database (127.0.0.1:5432, database `test`, a fresh schema). 1,000
destinations with 3 backups each (one page), one channel watching every one, saved
with Store.save_watch once; before each run every poll is forgotten (poll_status and
what was learnt of the backups emptied), so each run is the same first poll of all
1,000. N replicas start, register with their first heartbeat and ask for the token
(as the bot does at start-up, so the budget is known), beat once more so that each
counts N live replicas, then all get "go" and run one `poll_all()`. The wall time
runs from "go" to the last replica's end.

1, 2 and 3 replicas run against a fake whose budget is too large to matter
(1,000,000 requests an hour), so what limits them shows. Then 3 replicas run
against Northflank's real default budget, 1,000 an hour, with POLL_INTERVAL 300:
there the budget is the limit, and each replica's plan says so. `--cold` adds the
same without the start-up request: what a poll does before any response has told
it the budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import text

from bench.poll_replica_child import destination_ids
from bot.core import budget
from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.services.poller import CONCURRENCY
from bot.store import Store, upgrade
from bot.store.database import engine_for
from tests.databases import postgres_schema
from tests.processes import REPO

DESTINATIONS = 1000
BACKUPS_PER_DESTINATION = 3
LATENCY = 0.05
POLL_INTERVAL = 300
UNLIMITED = 1_000_000  # requests an hour: never the limit here
REAL_LIMIT = budget.DEFAULT_HOURLY_LIMIT
REPLICA_COUNTS = (1, 2, 3)
CHANNEL = "C0BENCH"
# Every connection the replicas open says so; PostgreSQL's CPU is counted for these.
APPLICATION = "bench-poll-replicas"
# Saving the watches, at once: more than the pool holds would only queue.
SEED_CONCURRENCY = 8
# Busier than this share of the machine, and the CPU is what runs out.
CPU_BUSY = 0.85
# At least this share of CONCURRENCY x N / latency, and latency is what limits.
LATENCY_BOUND = 0.85
# Other processes using this many cores make the figures noisy; the report says so.
NOISY = 0.25
TICKS = os.sysconf("SC_CLK_TCK")
COMMAND = ".venv/bin/python -m bench.poll_replicas"


# ----- CPU time from /proc -------------------------------------------------------------


def machine_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    total = sum(fields[:8])  # guest time is already inside user
    return total - idle, total


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            raw = stat.read()
    except OSError:
        return 0.0
    after_name = raw[raw.rindex(")") + 2 :].split()
    return (int(after_name[11]) + int(after_name[12])) / TICKS


async def postgres_pids(url: str) -> list[int]:
    """The PostgreSQL backends serving the replicas right now."""
    engine = engine_for(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE application_name = :app AND pid <> pg_backend_pid()"
                ),
                {"app": APPLICATION},
            )
            return [int(pid) for (pid,) in rows]
    finally:
        await engine.dispose()


@dataclass
class CpuSnapshot:
    machine: tuple[int, int]
    postgres: dict[int, float]
    fake: float


async def cpu_snapshot(url: str, fake: FakeProcess) -> CpuSnapshot:
    pids = await postgres_pids(url)
    fake_cpu = float((await fake.call("stats"))["cpu"])
    return CpuSnapshot(machine_ticks(), {pid: process_cpu(pid) for pid in pids}, fake_cpu)


# ----- the fake Northflank and the replicas, as processes -------------------------------


class Child:
    """A child process spoken to in lines of JSON (a module of bench/ run with `-m`)."""

    MODULE = "bench.poll_replica_child"

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls, *args: str, env: dict[str, str] | None = None) -> Self:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            cls.MODULE,
            *args,
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        return cls(process)

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = await self.process.stdout.readline()
        if not line:
            await self.process.wait()
            raise RuntimeError(f"a child process exited ({self.process.returncode})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer

    async def call(self, line: str) -> dict[str, Any]:
        await self.send(line)
        return await self.read()

    async def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), timeout=20)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


class FakeProcess(Child):
    url = ""


@contextlib.asynccontextmanager
async def fake_northflank(rate_limit: int) -> AsyncIterator[FakeProcess]:
    child = await Child.start(
        "northflank",
        str(LATENCY),
        str(rate_limit),
        str(DESTINATIONS),
        str(BACKUPS_PER_DESTINATION),
    )
    fake = FakeProcess(child.process)
    try:
        fake.url = str((await fake.read())["url"])
        yield fake
    finally:
        await fake.close()


# ----- the database --------------------------------------------------------------------


def with_application_name(url: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query["options"] = f"{query.get('options', '')} -capplication_name={APPLICATION}".strip()
    return urlunsplit(parts._replace(query=urlencode(query)))


@contextlib.asynccontextmanager
async def seeded_database() -> AsyncIterator[str]:
    """A fresh schema, migrated, one channel watching every destination; its URL.

    Its connections carry APPLICATION as their name, so their backends can be found.
    """
    async with postgres_schema() as schema_url:
        url = with_application_name(schema_url)
        await upgrade(url)
        store = Store.connect(url)
        now = datetime.now(UTC)
        gate = asyncio.Semaphore(SEED_CONCURRENCY)

        async def watch(dest_id: str) -> None:
            async with gate:
                await store.save_watch(
                    CHANNEL, Destination(dest_id, f"Bench {dest_id}"), WatchSettings(), "U0B", now
                )

        try:
            await asyncio.gather(*(watch(d) for d in destination_ids(DESTINATIONS)))
        finally:
            await store.close()
        yield url


async def polled_in_database(url: str) -> tuple[int, int]:
    """(destinations with a last poll, leases still held)."""
    engine = engine_for(url)
    try:
        async with engine.connect() as connection:
            polled = await connection.scalar(
                text("SELECT count(*) FROM poll_status WHERE last_poll_at IS NOT NULL")
            )
            leased = await connection.scalar(
                text("SELECT count(*) FROM poll_status WHERE lease_owner IS NOT NULL")
            )
            return int(polled or 0), int(leased or 0)
    finally:
        await engine.dispose()


# ----- one run -------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    replicas: int
    wall: float
    reports: list[dict[str, Any]]
    pages: Counter[str]
    fake_requests: int
    polled_in_db: int
    leases_left: int
    cpu_replicas: float
    cpu_fake: float
    cpu_postgres: float
    machine_busy: float  # cores
    go_skew: float
    notes: list[str] = field(default_factory=list)

    @property
    def polled(self) -> int:
        return sum(len(r["polled"]) for r in self.reports)

    @property
    def requests(self) -> int:
        return sum(int(r["requests"]) for r in self.reports)

    @property
    def errors(self) -> list[str]:
        return [e for r in self.reports for e in r["errors"]]

    def per_replica(self) -> str:
        return " / ".join(str(len(r["polled"])) for r in self.reports)

    def check(self, expected: int) -> list[str]:
        """What is wrong with the run's correctness; empty when nothing is."""
        problems = []
        counts = Counter(d for r in self.reports for d in r["polled"])
        twice = sorted(d for d, n in counts.items() if n > 1)
        if twice:
            problems.append(f"{len(twice)} destinations polled by more than one replica")
        pages_twice = sorted(d for d, n in self.pages.items() if n > 1)
        if pages_twice:
            problems.append(f"{len(pages_twice)} destinations' pages fetched more than once")
        if len(counts) != expected:
            problems.append(f"{len(counts)} destinations polled, {expected} expected")
        if len(self.pages) != expected:
            problems.append(f"the fake served {len(self.pages)} destinations' pages")
        if self.polled_in_db != expected:
            problems.append(f"poll_status has {self.polled_in_db} destinations polled")
        if self.leases_left:
            problems.append(f"{self.leases_left} leases were not given back")
        if self.errors:
            problems.append(f"{len(self.errors)} polls failed, e.g. {self.errors[0]}")
        return problems


async def reset_database(url: str) -> None:
    """Forget every poll: all destinations due again, nothing known of their backups."""
    engine = engine_for(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text("TRUNCATE known_backups, addons, poll_status, alert_actions, alerts, outbox")
            )
            left = await connection.scalar(text("SELECT count(*) FROM replicas"))
            if left:
                raise RuntimeError(f"{left} replicas of the last run are still registered")
    finally:
        await engine.dispose()


async def run_replicas(
    label: str, replicas: int, url: str, fake: FakeProcess, *, warm: bool = True
) -> tuple[Run, float]:
    """One poll by `replicas` replicas at once; the run and the seconds its setup took."""
    setup_started = time.monotonic()
    await reset_database(url)
    await fake.call("clear")
    children = await asyncio.gather(
        *(
            Child.start("replica", url, fake.url, str(POLL_INTERVAL), "warm" if warm else "cold")
            for _ in range(replicas)
        )
    )
    try:
        await asyncio.gather(*(c.read() for c in children))  # all registered
        ready = await asyncio.gather(*(c.call("sync") for c in children))
        counted = {int(r["live_count"]) for r in ready}
        if counted != {replicas}:
            raise RuntimeError(f"replicas counted {counted} live, not {replicas}")
        await fake.call("clear")
        setup = time.monotonic() - setup_started
        before = await cpu_snapshot(url, fake)
        went = time.monotonic()
        await asyncio.gather(*(c.send("go") for c in children))
        reports = list(await asyncio.gather(*(c.read() for c in children)))
        after = await cpu_snapshot(url, fake)
        stats = await fake.call("stats")
        polled_in_db, leases_left = await polled_in_database(url)
        await asyncio.gather(*(c.send("quit") for c in children))
    finally:
        await asyncio.gather(*(c.close() for c in children))
    ended = max(float(r["ended"]) for r in reports)
    busy = after.machine[0] - before.machine[0]
    elapsed = (after.machine[1] - before.machine[1]) / (os.cpu_count() or 1)
    postgres = sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in after.postgres.items())
    run = Run(
        label=label,
        replicas=replicas,
        wall=ended - went,
        reports=sorted(reports, key=lambda r: -len(r["polled"])),
        pages=Counter({d: int(n) for d, n in stats["pages"].items()}),
        fake_requests=int(stats["requests"]),
        polled_in_db=polled_in_db,
        leases_left=leases_left,
        cpu_replicas=sum(float(r["cpu"]) for r in reports),
        cpu_fake=float(after.fake) - float(before.fake),
        cpu_postgres=postgres,
        machine_busy=busy / elapsed if elapsed else 0.0,
        go_skew=max(float(r["went"]) for r in reports) - went,
    )
    return run, setup


# ----- what limited a run --------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """Destinations a second that each resource would allow, from the run's own figures."""

    latency: float  # CONCURRENCY workers per replica, each waiting LATENCY per request
    loops: float  # each replica's event loop on one core: its CPU per destination
    machine: float  # every core busy with this run's CPU per destination, nothing else running
    ours: float  # cores this run used: replicas, the fake, PostgreSQL's backends
    others: float  # cores everything else on the machine used meanwhile
    loop_busy: float  # the busiest replica's CPU / wall


def bounds_of(run: Run, cores: int) -> Bounds:
    polled = max(run.polled, 1)
    per_replica = run.cpu_replicas / polled
    per_destination = (run.cpu_replicas + run.cpu_fake + run.cpu_postgres) / polled
    ours = (run.cpu_replicas + run.cpu_fake + run.cpu_postgres) / run.wall
    return Bounds(
        latency=CONCURRENCY * run.replicas / LATENCY,
        loops=run.replicas / per_replica if per_replica else float("inf"),
        machine=cores / per_destination if per_destination else float("inf"),
        ours=ours,
        others=max(0.0, run.machine_busy - ours),
        loop_busy=max(float(r["cpu"]) for r in run.reports) / run.wall,
    )


def per_destination_ms(run: Run) -> float:
    """How long one worker spent per destination, on average."""
    return run.wall * CONCURRENCY * run.replicas / max(run.polled, 1) * 1000


def limit_of(run: Run, cores: int) -> str:
    """The resource that ran out, judged by how busy each was; else what the time went on."""
    b = bounds_of(run, cores)
    rate = run.polled / run.wall
    machine = (
        f"the machine's {cores} cores busy {run.machine_busy:.2f}: this run "
        f"{b.ours:.2f} (replicas {run.cpu_replicas / run.wall:.2f}, PostgreSQL "
        f"{run.cpu_postgres / run.wall:.2f}, fake {run.cpu_fake / run.wall:.2f}), "
        f"other processes {b.others:.2f}"
    )
    if run.machine_busy >= CPU_BUSY * cores:
        return f"CPU ({machine})"
    if b.loop_busy >= CPU_BUSY:
        return f"CPU of a replica's event loop (busy {b.loop_busy:.2f} of its core; {machine})"
    if rate >= LATENCY_BOUND * b.latency:
        return (
            f"request latency x concurrency ({rate:.0f}/s of the {CONCURRENCY} x "
            f"{run.replicas} / {LATENCY:g} s = {b.latency:.0f}/s bound; {machine})"
        )
    turn = per_destination_ms(run)
    own = run.cpu_replicas / max(run.polled, 1) * run.replicas * 1000
    return (
        f"none saturated: a worker's turn took {turn:.0f} ms per destination, "
        f"{LATENCY * 1000:.0f} ms of it the request and {own:.0f} ms its replica's CPU; the "
        f"rest is waiting for the event loop (the other workers' CPU), PostgreSQL and a core "
        f"(loop busy {b.loop_busy:.2f}; {machine})"
    )


# ----- report --------------------------------------------------------------------------


def print_scaling(runs: list[Run], cores: int) -> None:
    base = runs[0].wall
    print(
        f"## {DESTINATIONS:,} destinations, one poll_all() per replica, fake Northflank at "
        f"{LATENCY * 1000:.0f} ms a request, budget {UNLIMITED:,}/h (not the limit)"
    )
    print()
    print(
        "| replicas | wall s | destinations/s | speed-up | per replica | requests | "
        "CPU s replicas | CPU s PostgreSQL | CPU s fake | CPU ms / destination | "
        "cores busy: run + others |"
    )
    print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for run in runs:
        b = bounds_of(run, cores)
        own = (run.cpu_replicas + run.cpu_postgres + run.cpu_fake) / max(run.polled, 1)
        print(
            f"| {run.replicas} | {run.wall:.1f} | {run.polled / run.wall:.1f} | "
            f"{base / run.wall:.2f}x | {run.per_replica()} | {run.requests} | "
            f"{run.cpu_replicas:.1f} | {run.cpu_postgres:.1f} | {run.cpu_fake:.1f} | "
            f"{own * 1000:.0f} | {b.ours:.2f} + {b.others:.2f} of {cores} |"
        )
    print()
    print(
        "Bounds, destinations/s, from each run's figures: latency = CONCURRENCY x replicas "
        f"/ {LATENCY:g} s; loops = replicas / replica CPU per destination (one core per "
        f"event loop); machine = {cores} cores / CPU per destination (replicas + PostgreSQL "
        "+ fake), were nothing else running."
    )
    print()
    print("| replicas | achieved | latency bound | loops bound | machine bound | busiest loop |")
    print("|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        b = bounds_of(run, cores)
        print(
            f"| {run.replicas} | {run.polled / run.wall:.1f} | {b.latency:.0f} | "
            f"{b.loops:.1f} | {b.machine:.1f} | {b.loop_busy:.2f} |"
        )
    print()
    for run in runs:
        plural = "s" if run.replicas > 1 else ""
        print(f"- {run.replicas} replica{plural}: limit: {limit_of(run, cores)}")
    print()
    others = max(bounds_of(run, cores).others for run in runs)
    if others >= NOISY:
        print(
            f"Other processes used up to {others:.2f} cores during these runs: the figures are "
            "slower than on a quiet machine, and the speed-ups are noisy."
        )
        print()


def print_correctness(runs: list[Run]) -> None:
    print("Correctness: each of the 1,000 destinations polled exactly once in total?")
    print()
    for run in runs:
        problems = run.check(DESTINATIONS)
        verdict = "yes" if not problems else "NO: " + "; ".join(problems)
        print(
            f"- {run.label}: {verdict}. Split {run.per_replica()}; the fake served "
            f"{len(run.pages)} destinations' pages, at most "
            f"{max(run.pages.values(), default=0)} each ({run.fake_requests} requests); "
            f"poll_status: {run.polled_in_db} polled, {run.leases_left} leases left; "
            f"{sum(int(r['alerts']) for r in run.reports)} alerts; "
            f"'go' reached the last replica {run.go_skew * 1000:.0f} ms after the first."
        )
    print()


def print_budget(run: Run, title: str) -> list[str]:
    """The per-replica plans; returns what is wrong with the run."""
    print(f"## {title}")
    print()
    print("| replica | live replicas | polled | requests | plan: requests | stretched | reason |")
    print("|---|---:|---:|---:|---:|---|---|")
    problems = run.check(run.polled)
    for r in run.reports:
        plan = r["plan"] or {}
        name = str(r["replica"]).rsplit("-", 1)[-1]
        print(
            f"| {name} | {r['live_count']} | {len(r['polled'])} | {r['requests']} | "
            f"{plan.get('requests')} | {plan.get('stretched')} | {plan.get('reason')} |"
        )
        if plan and len(r["polled"]) > int(plan["requests"]):
            problems.append(
                f"replica {name} polled {len(r['polled'])}, its plan {plan['requests']}"
            )
    left = [int(r["remaining"]) for r in run.reports if r["remaining"] is not None]
    print()
    verdict = "yes" if not problems else "NO: " + "; ".join(problems)
    print(
        f"{run.polled} of {DESTINATIONS:,} due destinations polled in {run.wall:.1f} s "
        f"({run.fake_requests} requests reached the fake); each once and within its "
        f"replica's plan: {verdict}. Left in the window afterwards: "
        f"{min(left, default=-1)} of {REAL_LIMIT} (the reserve for people and other tools: "
        f"{budget.reserve_for(REAL_LIMIT)})."
    )
    return problems


async def main_async(cold: bool) -> None:
    cores = os.cpu_count() or 1
    started = time.monotonic()
    setups: list[float] = []
    runs: list[Run] = []
    async with seeded_database() as url:
        setups.append(time.monotonic() - started)
        async with fake_northflank(UNLIMITED) as fake:
            for replicas in REPLICA_COUNTS:
                run, setup = await run_replicas(f"{replicas} replica(s)", replicas, url, fake)
                runs.append(run)
                setups.append(setup)
        async with fake_northflank(REAL_LIMIT) as fake:
            budgeted, setup = await run_replicas("budget", 3, url, fake)
            setups.append(setup)
        cold_run = None
        if cold:
            async with fake_northflank(REAL_LIMIT) as fake:
                cold_run, setup = await run_replicas("cold", 3, url, fake, warm=False)
                setups.append(setup)

    print(f"# Polling with replicas: `{COMMAND}`")
    print()
    print_scaling(runs, cores)
    print_correctness(runs)
    reserve = budget.reserve_for(REAL_LIMIT)
    cycles = 3600 // POLL_INTERVAL
    print_budget(
        budgeted,
        f"3 replicas, Northflank's default budget ({REAL_LIMIT}/h), POLL_INTERVAL "
        f"{POLL_INTERVAL}; each checked the token at start-up, as the bot does",
    )
    print(
        f"limit: API budget ({budgeted.polled} of {DESTINATIONS:,} due destinations this "
        f"cycle: ({REAL_LIMIT} - {reserve} reserve) / {cycles} cycles left in the window = "
        f"{(REAL_LIMIT - reserve) // cycles} a cycle, a third each; at that rate every "
        f"destination is polled about every "
        f"{DESTINATIONS / (REAL_LIMIT - reserve) * 60:.0f} minutes, not every "
        f"{POLL_INTERVAL // 60})"
    )
    print()
    if cold_run is not None:
        print_budget(
            cold_run,
            "The same without the start-up request: no response seen before the poll",
        )
        print()
    else:
        print(
            "(Before any response a poll assumes Northflank's documented 1,000 requests an hour: "
            f"`{COMMAND} --cold` adds that run.)"
        )
        print()
    print(
        f"(the whole run took {time.monotonic() - started:.0f} s, {sum(setups):.0f} s of it "
        f"setting up: the schema and 1,000 watches, processes, heartbeats; {cores} cores, "
        "shared with PostgreSQL, the fake and whatever else runs on this machine)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="also poll with 3 replicas that have seen no response yet (about 30 s more)",
    )
    asyncio.run(main_async(parser.parse_args().cold))


if __name__ == "__main__":
    main()
