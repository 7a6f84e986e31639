"""Polling for a multi-workspace deployment: 200 workspaces, each its own Northflank token.

    .venv/bin/python -m bench.workspaces

200 Slack workspaces (T0000..T0199) each store one Northflank connection (its own API
token, nf-bench-000..199, encrypted with a fresh ENCRYPTION_KEY) and watch 5 destinations
through it from one channel: 1,000 watched destinations, keyed `dest-N@CONNECTION` (the
same five Northflank ids in every team). PostgreSQL (127.0.0.1:5432, database `test`, a
fresh schema); 2 replicas, each a process of its own wired as BotServer wires polling
(bench.workspace_child replica). The fake Northflank is one process
(bench.workspace_child northflank): a FakeNorthflankTeams router, one base URL, where the
token decides the team, in front of 200 FakeNorthflank teams, each with its own
x-ratelimit window (1,000 an hour) and 3 completed backups per destination, answering
after 50 ms.

Both replicas register and count each other, then get "go" and run one `poll_all()`
each; the cycle is over when both are. Six cycles, on the same two processes:

1. first: nothing polled yet, no connection's client opened yet;
2. steady: every destination due again (its last poll moved back two intervals), what
   was learnt of the backups kept, the clients open: a poll interval as it recurs;
3. one exhausted: as 2, but team 100's fake window now has 0 requests left for a whole
   hour, and before "go" each replica has sent one request through that connection (a
   429), so its reading says 0 left, as after any response of that window;
4. steady again: that window refilled, and read the same way;
5. one exhausted again, as 3 (two of each, since the machine's noise is of that size);
6. exhausted unseen: team 150's window emptied too, but the replicas have not heard from
   it since cycle 5 (their reading still says plenty left).

It prints requests per token per cycle (expected: one per destination, 5), the replicas'
CPU per destination, wall time and split, and whether the 995 other connections'
destinations were polled, and when, with one budget exhausted, next to the same figures
without; also how busy the machine was (it may be shared), the replicas' database
transactions and lease claims. About 2 to 3 minutes on 2 cores.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.poll_replicas import Child as ReplicaBenchChild
from bench.poll_replicas import machine_ticks
from bench.workspace_child import destination_ids, team_token
from bot.core import budget
from bot.core.backups import Destination
from bot.core.connections import destination_key
from bot.core.tenancy import channel_key
from bot.core.watches import WatchSettings
from bot.store import Store, upgrade
from bot.store.database import engine_for
from bot.store.encryption import TokenVault, generate_key
from tests.databases import postgres_schema

TEAMS = 200
DESTINATIONS_PER_TEAM = 5
DESTINATIONS = TEAMS * DESTINATIONS_PER_TEAM
HOURLY_LIMIT = budget.DEFAULT_HOURLY_LIMIT  # per token: Northflank's default
BACKUPS_PER_DESTINATION = 3
LATENCY = 0.05
POLL_INTERVAL = 300
REPLICAS = 2
EXHAUSTED = 100  # the team whose budget runs out in cycles 3 and 5
UNSEEN = 150  # the one that runs out before cycle 6, unbeknown to the replicas
SEED_CONCURRENCY = 8
LINE_LIMIT = 64 * 1024 * 1024  # bytes: the longest line a child may send
# "Shifted" means: the exhausted cycles' p95 later than the steady ones' by more than this
# share of it plus two fake latencies: cycles alike differ by up to about that much on 2
# cores shared with other processes.
SHIFT_SHARE = 0.25
SHIFT_FLOOR = 2 * LATENCY
COMMAND = ".venv/bin/python -m bench.workspaces"


def slack_team(team: int) -> str:
    return f"T{team:04d}"


def slack_channel(team: int) -> str:
    return f"C{team:04d}"


# ----- child processes -----------------------------------------------------------------


class Child(ReplicaBenchChild):
    """A bench.workspace_child process spoken to in lines of JSON."""

    MODULE = "bench.workspace_child"

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        super().__init__(process)
        # A replica's report names every destination it polled, and the fake's stats every
        # token's: at 10,000 destinations (bench.poll_scale) a line outgrows the 64 KiB
        # asyncio reads a line up to. create_subprocess_exec(limit=) would say so, but
        # ReplicaBenchChild.start does not pass one; StreamReader reads _limit per call.
        assert process.stdout is not None
        process.stdout._limit = LINE_LIMIT  # type: ignore[attr-defined]


@contextlib.asynccontextmanager
async def fake_northflank(
    teams: int = TEAMS, per_team: int = DESTINATIONS_PER_TEAM, rate_limit: int = HOURLY_LIMIT
) -> AsyncIterator[tuple[Child, dict[str, Any]]]:
    child = await Child.start(
        "northflank",
        str(LATENCY),
        str(teams),
        str(per_team),
        str(BACKUPS_PER_DESTINATION),
        str(rate_limit),
    )
    try:
        yield child, await child.read()
    finally:
        await child.close()


@contextlib.asynccontextmanager
async def replicas(
    url: str, northflank_url: str, key: str, count: int = REPLICAS
) -> AsyncIterator[list[Child]]:
    env = {**os.environ, "ENCRYPTION_KEY": key}
    children = await asyncio.gather(
        *(
            Child.start("replica", url, northflank_url, str(POLL_INTERVAL), env=env)
            for _ in range(count)
        )
    )
    try:
        await asyncio.gather(*(c.read() for c in children))  # all registered
        counted = {int(r["live_count"]) for r in await call_all(children, "sync")}
        if counted != {count}:
            raise RuntimeError(f"replicas counted {counted} live, not {count}")
        yield list(children)
        await asyncio.gather(*(c.send("quit") for c in children))
    finally:
        await asyncio.gather(*(c.close() for c in children))


async def call_all(children: Iterable[Child], line: str) -> list[dict[str, Any]]:
    return list(await asyncio.gather(*(c.call(line) for c in children)))


# ----- the database --------------------------------------------------------------------


@dataclass(frozen=True)
class Tenant:
    team: int
    token: str
    connection_id: int
    keys: tuple[str, ...]


async def seed(
    url: str, key: str, teams: int = TEAMS, per_team: int = DESTINATIONS_PER_TEAM
) -> list[Tenant]:
    """`teams` workspaces, each one connection and one channel watching its `per_team`."""
    store = Store.connect(url, vault=TokenVault.from_keys(key))
    now = datetime.now(UTC)
    tenants = []
    try:
        for team in range(teams):
            connection = await store.add_connection(
                f"team-{team:03d}",
                team_token(team),
                northflank_team_id=None,
                created_by="U0BENCH",
                now=now,
                team=slack_team(team),
            )
            keys = tuple(destination_key(d, connection.id) for d in destination_ids(per_team))
            tenants.append(Tenant(team, team_token(team), connection.id, keys))
        gate = asyncio.Semaphore(SEED_CONCURRENCY)

        async def watch(tenant: Tenant, dest_key: str) -> None:
            async with gate:
                await store.save_watch(
                    channel_key(slack_team(tenant.team), slack_channel(tenant.team)),
                    Destination(dest_key, f"Bench {dest_key}"),
                    WatchSettings(),
                    "U0BENCH",
                    now,
                )

        await asyncio.gather(*(watch(t, k) for t in tenants for k in t.keys))
    finally:
        await store.close()
    return tenants


async def make_due_again(url: str) -> None:
    """Every destination's last poll two intervals earlier: all due, nothing else changed."""
    engine = engine_for(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE poll_status SET last_poll_at = last_poll_at - make_interval("
                    "secs => :seconds) WHERE last_poll_at IS NOT NULL"
                ),
                {"seconds": 2 * POLL_INTERVAL},
            )
    finally:
        await engine.dispose()


async def poll_rows(url: str, since: datetime) -> tuple[set[str], int]:
    """(destinations whose last poll is after `since`, leases still held)."""
    engine = engine_for(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT destination_id FROM poll_status WHERE last_poll_at >= :since"),
                {"since": since},
            )
            leased = await connection.scalar(
                text("SELECT count(*) FROM poll_status WHERE lease_owner IS NOT NULL")
            )
            return {str(d) for (d,) in rows}, int(leased or 0)
    finally:
        await engine.dispose()


# ----- one cycle -----------------------------------------------------------------------


@dataclass
class Cycle:
    label: str
    wall: float
    reports: list[dict[str, Any]]
    by_token: dict[str, dict[str, int]]  # token -> path kind -> requests
    polled_in_db: set[str]
    leases_left: int
    fake_cpu: float
    cores_busy: float  # the whole machine's, from /proc/stat
    went: float  # time.monotonic() at "go": comparable with the replicas' clocks
    exhausted: bool = False  # EXHAUSTED's budget spent, and each replica read so

    @property
    def finished(self) -> dict[str, float]:
        """Each polled destination's poll, seconds after "go" (the earliest, if twice)."""
        found: dict[str, float] = {}
        for r in self.reports:
            for key, at in r["polled"].items():
                found[key] = min(found.get(key, at), at - self.went)
        return found

    @property
    def twice(self) -> int:
        return sum(
            1 for n in Counter(k for r in self.reports for k in r["polled"]).values() if n > 1
        )

    def count(self, what: str) -> int:
        return sum(int(r["counts"].get(what, 0)) for r in self.reports)

    @property
    def connects(self) -> Counter[str]:
        """Database connections the replicas opened this cycle, by the bot's caller."""
        found: Counter[str] = Counter()
        for r in self.reports:
            for key, n in r["counts"].items():
                if key.startswith("connect: "):
                    found[key.removeprefix("connect: ")] += int(n)
        return found

    @property
    def cpu(self) -> float:
        return sum(float(r["cpu"]) for r in self.reports)

    @property
    def split(self) -> str:
        return " / ".join(str(len(r["polled"])) for r in self.reports)

    @property
    def errors(self) -> dict[str, str]:
        return {k: v for r in self.reports for k, v in r["errors"].items()}

    @property
    def skipped(self) -> set[str]:
        return {k for r in self.reports for k in r["skipped"]}

    def requests_of(self, token: str) -> int:
        return sum(self.by_token.get(token, {}).values())

    def pages_off(self, tenants: list[Tenant]) -> int:
        """(token, destination) pairs whose backups were not asked for exactly once."""
        return sum(
            1
            for t in tenants
            for d in destination_ids(len(t.keys))
            if self.by_token.get(t.token, {}).get(d, 0) != 1
        )


async def run_cycle(label: str, url: str, fake: Child, children: list[Child]) -> Cycle:
    """Both replicas run one poll_all() after "go"; what they did, and what the fake saw."""
    await fake.call("clear")
    fake_cpu = float((await fake.call("stats"))["cpu"])
    ticks = machine_ticks()
    went_at = datetime.now(UTC)
    went = time.monotonic()
    await asyncio.gather(*(c.send("go") for c in children))
    reports = list(await asyncio.gather(*(c.read() for c in children)))
    wall = max(float(r["ended"]) for r in reports) - went
    busy, total = (after - start for after, start in zip(machine_ticks(), ticks, strict=True))
    stats = await fake.call("stats")
    polled, leased = await poll_rows(url, went_at - timedelta(seconds=1))
    return Cycle(
        label=label,
        wall=wall,
        reports=reports,
        by_token=stats["by_token"],
        polled_in_db=polled,
        leases_left=leased,
        fake_cpu=float(stats["cpu"]) - fake_cpu,
        cores_busy=busy / total * (os.cpu_count() or 1) if total else 0.0,
        went=went,
    )


async def set_budget(
    fake: Child, children: list[Child], tenant: Tenant, *, exhausted: bool
) -> list[dict[str, Any]]:
    """Exhaust (or refill) a team's window at the fake, then have each replica read it.

    Each replica sends one request through that connection, as any poll or command
    would: the answer (a 429 when exhausted) is what its reading of the budget says.
    """
    await fake.call(f"{'exhaust' if exhausted else 'refill'} {tenant.token}")
    readings = await call_all(children, f"prime {tenant.connection_id}")
    for reading in readings:
        if (reading["remaining"] == 0) != exhausted:
            raise RuntimeError(f"a replica reads {reading} for {tenant.token}'s budget")
    return readings


# ----- figures -------------------------------------------------------------------------


def quantile(values: list[float], share: float) -> float:
    """Nearest rank; NaN for none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def print_requests(cycles: list[Cycle], tenants: list[Tenant]) -> None:
    print(
        "## 1. Requests per connection (token) per poll interval: expected 5 each, "
        f"one per destination; {DESTINATIONS:,} in all"
    )
    print()
    print(
        "| cycle | tokens | min | median | max | total | tokens not at 5 | "
        "(token, destination) not asked once |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for cycle in cycles:
        counts = [cycle.requests_of(t.token) for t in tenants]
        print(
            f"| {cycle.label} | {len(counts)} | {min(counts)} | {statistics.median(counts):g} | "
            f"{max(counts)} | {sum(counts)} | {sum(1 for n in counts if n != 5)} | "
            f"{cycle.pages_off(tenants)} |"
        )
    print()


def print_cpu(cycles: list[Cycle]) -> None:
    cores = os.cpu_count() or 1
    opened = " / ".join(f"{r['opened']} of {TEAMS}" for r in cycles[0].reports)
    print(
        f"## 2. CPU per destination: both replicas' process CPU around poll_all, / {DESTINATIONS:,}"
    )
    print()
    print(
        "| cycle | polled | replicas' CPU s | CPU ms / destination | wall s | split A / B | "
        "fake CPU s | cores busy: replicas + fake, machine | DB transactions | "
        "claims found / empty | polled twice | leases left |"
    )
    print("|---|---:|---:|---:|---:|---|---:|---|---:|---|---:|---:|")
    for cycle in cycles:
        ours = (cycle.cpu + cycle.fake_cpu) / cycle.wall
        print(
            f"| {cycle.label} | {len(cycle.finished)} | {cycle.cpu:.1f} | "
            f"{cycle.cpu / DESTINATIONS * 1000:.1f} | {cycle.wall:.1f} | {cycle.split} | "
            f"{cycle.fake_cpu:.1f} | {ours:.2f}, {cycle.cores_busy:.2f} of {cores} | "
            f"{cycle.count('transactions')} | {cycle.count('claims found')} / "
            f"{cycle.count('claims empty')} | {cycle.twice} | {cycle.leases_left} |"
        )
    print()
    print(
        "(machine: every core's busy time during the cycle, from /proc/stat; beyond the "
        "replicas and the fake that is PostgreSQL and any other process, which this bench "
        "cannot tell apart (the pool's overflow backends exit before they can be read). "
        "DB transactions: both replicas' BEGINs. A claim is empty when its connection has "
        "no due, free destination left: each worker's last one is. Connections opened "
        f"after cycle 1, by replica: {opened}.)"
    )
    print()


def others_figures(cycle: Cycle, others: set[str]) -> tuple[int, float, float, float]:
    times = [t for k, t in cycle.finished.items() if k in others]
    return len(times), quantile(times, 0.5), quantile(times, 0.95), max(times, default=0.0)


def print_isolation(
    cycles: list[Cycle], tenants: list[Tenant], exhausted: Tenant, readings: list[dict[str, Any]]
) -> None:
    others = {k for t in tenants if t is not exhausted for k in t.keys}
    mine = set(exhausted.keys)
    print(
        f"## 3. Isolation: {exhausted.token}'s budget exhausted (workspace "
        f"{slack_team(exhausted.team)}, connection {exhausted.connection_id}) in cycles "
        f"{' and '.join(c.label.split()[0] for c in cycles if c.exhausted)}; "
        f"the other {len(others)} destinations"
    )
    print()
    print(
        "| cycle | others polled | p50 s after go | p95 s | last s | exhausted one's: "
        "polled / skipped / still due after / requests to its token |"
    )
    print("|---|---:|---:|---:|---:|---|")
    for cycle in cycles:
        n, p50, p95, last = others_figures(cycle, others)
        print(
            f"| {cycle.label} | {n} of {len(others)} | {p50:.2f} | {p95:.2f} | {last:.2f} | "
            f"{len(mine & set(cycle.finished))} / {len(mine & cycle.skipped)} / "
            f"{len(mine - cycle.polled_in_db)} / {cycle.requests_of(exhausted.token)} |"
        )
    print()
    reading = readings[0]
    print(
        f"Before each exhausted cycle the fake's window for {exhausted.token} was set to 0 "
        f"left, and each replica sent 1 request through it (not counted above): "
        f"{reading['answer']}, so its reading said {reading['remaining']} left, reset in "
        f"{reading['reset_in']:.0f} s. Before the second steady cycle the window was refilled "
        f"and read the same way."
    )
    steady = [others_figures(c, others) for c in cycles[1:] if not c.exhausted]
    spent = [others_figures(c, others) for c in cycles if c.exhausted]
    base95 = statistics.mean(f[2] for f in steady)
    spent95 = statistics.mean(f[2] for f in spent)
    allowed = base95 * (1 + SHIFT_SHARE) + SHIFT_FLOOR
    shifted = any(f[0] < len(others) for f in spent) or spent95 > allowed
    print(
        f"Shifted means: fewer than {len(others)} polled in an exhausted cycle, or their mean "
        f"p95 ({spent95:.2f} s) above the steady cycles' mean p95 ({base95:.2f} s) "
        f"x {1 + SHIFT_SHARE:g} + {SHIFT_FLOOR:g} s = {allowed:.2f} s."
    )
    print()
    print(f"one exhausted budget shifts the others' poll times: {'yes' if shifted else 'no'}")
    print()


def print_unseen(cycle: Cycle, tenants: list[Tenant], exhausted: Tenant, unseen: Tenant) -> None:
    others = {k for t in tenants if t not in (exhausted, unseen) for k in t.keys}
    n, p50, p95, last = others_figures(cycle, others)
    mine = set(unseen.keys)
    errors = Counter(cycle.errors[k] for k in mine if k in cycle.errors)
    print(
        f"## 4. Cycle {cycle.label.split()[0]}: {unseen.token}'s budget exhausted at the fake "
        f"only: the replicas' reading is still from their last response (plenty left)"
    )
    print()
    print(
        f"- its token got {cycle.requests_of(unseen.token)} requests, "
        f"{sorted(cycle.by_token.get(unseen.token, {}).values())} per path; its 5 "
        f"destinations: {len(mine & set(cycle.finished))} polled, {sum(errors.values())} of "
        f"them failed ({dict(errors) or 'none'}), {len(mine & cycle.skipped)} skipped, "
        f"{len(mine & cycle.polled_in_db)} with a new last poll (next due in an interval)"
    )
    print(
        f"- the other {len(others)}: {n} polled, p50 {p50:.2f} s, p95 {p95:.2f} s, "
        f"last {last:.2f} s; {exhausted.token} (exhausted, and known so): "
        f"{cycle.requests_of(exhausted.token)} requests"
    )
    print()


async def main_async() -> None:
    started = time.monotonic()
    key = generate_key()
    cycles: list[Cycle] = []
    async with postgres_schema() as url:
        await upgrade(url)
        tenants = await seed(url, key)
        seeded = time.monotonic() - started
        exhausted, unseen = tenants[EXHAUSTED], tenants[UNSEEN]
        async with (
            fake_northflank() as (fake, hello),
            replicas(url, str(hello["url"]), key) as children,
        ):
            cycles.append(await run_cycle("1 first", url, fake, children))
            readings: list[dict[str, Any]] = []
            for n, spent in ((2, False), (3, True), (4, False), (5, True)):
                await make_due_again(url)
                if spent:
                    readings = await set_budget(fake, children, exhausted, exhausted=True)
                elif n > 2:
                    await set_budget(fake, children, exhausted, exhausted=False)
                label = f"{n} {'one exhausted' if spent else 'steady'}"
                cycles.append(await run_cycle(label, url, fake, children))
                cycles[-1].exhausted = spent
            await fake.call(f"exhaust {unseen.token}")
            await make_due_again(url)
            cycles.append(await run_cycle("6 exhausted unseen", url, fake, children))
    print(
        f"# {TEAMS} workspaces x {DESTINATIONS_PER_TEAM} destinations, a Northflank token "
        f"each: `{COMMAND}`"
    )
    print()
    print(
        f"PostgreSQL, {REPLICAS} replicas (processes), {TEAMS} stored connections, "
        f"{DESTINATIONS:,} watches; fake Northflank: {TEAMS} teams behind one router in one "
        f"process ({hello['threads']} threads, started in {hello['startup']:.1f} s), "
        f"{LATENCY * 1000:.0f} ms a request, 1,000 requests an hour per token; "
        f"POLL_INTERVAL {POLL_INTERVAL}; {os.cpu_count()} cores."
    )
    print()
    print_requests(cycles, tenants)
    print_cpu(cycles)
    print_isolation(cycles[:5], tenants, exhausted, readings)
    print_unseen(cycles[5], tenants, exhausted, unseen)
    problems = [
        f"{c.label}: {len(c.errors)} polls failed, e.g. {next(iter(c.errors.values()))}"
        for c in cycles[:5]
        if c.errors
    ]
    print(f"Failed polls in cycles 1-5: {'; '.join(problems) or 'none'}.")
    print(
        f"(the whole run took {time.monotonic() - started:.0f} s, {seeded:.0f} s of it "
        f"seeding the schema, {TEAMS} connections and {DESTINATIONS:,} watches)"
    )


def main() -> None:
    asyncio.run(main_async())


if __name__ == "__main__":
    main()
