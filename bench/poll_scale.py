"""Polling 10,000 destinations of 100 workspaces with 1, 2 and 3 replicas (issue 17, target 3).

    .venv/bin/python -m bench.poll_scale [--teams 100] [--per-team 100] [--cycles 3]
                                         [--memory-cycles 10]

100 Slack workspaces each store one Northflank connection (its own token, encrypted with
a fresh ENCRYPTION_KEY) and watch 100 destinations through it from one channel: 10,000
watched destinations in a fresh PostgreSQL schema (127.0.0.1:5432, database `test`).
The processes and the seeding are bench.workspaces' (whose docstring says more): the
replicas are bench.workspace_child processes wired as BotServer wires polling, the fake
Northflank is one process routing each token to its own team, answering every request
after 50 ms. Each team's window is 1,000,000 requests an hour, not Northflank's default
1,000: at 1,000 an hour and POLL_INTERVAL 300 a connection may spend only 66 requests a
cycle, fewer than its 100 destinations, and the budget, not the replicas, would set the
pace.

For 1, then 2, then 3 replicas: every poll is forgotten (as bench.poll_replicas does),
the replicas start and count each other, each sends one request through every connection
so that its first plan knows the budget (without it a connection's first cycle assumes
the default 1,000 an hour and polls 66 of its 100), then cycles run, each one
`poll_all()` per replica after "go", until every replica is done. Cycle 1 is the first
read of every destination; before each later one every destination is made due again
(its last poll moved back two intervals, nothing else changed): a steady cycle, one
request per destination. 1 replica runs 10 cycles, for its RSS after cycle 1 and after
cycle 10; 2 and 3 replicas run 3. Figures are the steady cycles' medians:

- wall: from "go" to the last replica's end;
- CPU per destination: the replica processes' CPU over their poll_all, / destinations;
- PostgreSQL CPU per destination: the CPU, read from /proc, of the backends serving the
  replicas (found by the application name their connections carry) over the cycle.

Each cycle is checked as bench.workspaces checks it: every destination polled exactly
once, in the database too, no lease left, one request per destination per connection,
no poll failed. PROBLEMS are printed, and the exit status is 1, if not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import text

from bench.poll_replicas import APPLICATION as REPLICAS_APPLICATION
from bench.poll_replicas import (
    TICKS,
    UNLIMITED,
    process_cpu,
    reset_database,
    with_application_name,
)
from bench.workspaces import (
    LATENCY,
    POLL_INTERVAL,
    Child,
    Cycle,
    Tenant,
    call_all,
    fake_northflank,
    make_due_again,
    replicas,
    run_cycle,
    seed,
)
from bot.core.budget import (
    DEFAULT_HOURLY_LIMIT,
    DEFAULT_WINDOW_SECONDS,
    BudgetReading,
    plan_cycle,
)
from bot.store import upgrade
from bot.store.database import engine_for
from bot.store.encryption import generate_key
from tests.databases import postgres_schema

COMMAND = ".venv/bin/python -m bench.poll_scale"
TEAMS = 100
PER_TEAM = 100
REPLICA_COUNTS = (1, 2, 3)
CYCLES = 3
MEMORY_CYCLES = 10
# RSS after the last cycle within this share of the first's: flat.
FLAT = 0.10
# A name of its own for the replicas' connections, so that the backends of another bench
# running on this machine (bench.poll_replicas names its own) are not counted as ours.
APPLICATION = "bench-poll-scale"


# ----- PostgreSQL's CPU ----------------------------------------------------------------


def replica_url(url: str) -> str:
    """`url`, its connections named APPLICATION."""
    return with_application_name(url).replace(REPLICAS_APPLICATION, APPLICATION)


@dataclass(frozen=True)
class PostgresCpu:
    backends: dict[int, float]  # the replicas' live backends: CPU seconds so far, by pid
    reaped: float  # CPU seconds of every backend that has exited so far
    sessions: int  # connections the database has accepted so far, anyone's

    def since(self, before: PostgresCpu) -> tuple[float, float]:
        """(CPU seconds the replicas' backends used since `before`, the exited ones' part).

        A backend that exited in between left its whole CPU in `reaped`; what it had
        used by `before` was not this cycle's.
        """
        gone = sum(cpu for pid, cpu in before.backends.items() if pid not in self.backends)
        exited = self.reaped - before.reaped - gone
        live = sum(cpu - before.backends.get(pid, 0.0) for pid, cpu in self.backends.items())
        return live + exited, exited


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the name: [0] is the state, [1] the parent."""
    with open(f"/proc/{pid}/stat") as stat:
        raw = stat.read()
    return raw[raw.rindex(")") + 2 :].split()


async def postgres_cpu(url: str) -> PostgresCpu:
    """The replicas' backends' CPU now, and the postmaster's reaped children's.

    The pool closes its overflow connections as they come back, so under load backends
    come and go within a cycle, and /proc no longer has them by its end. An exited
    process's CPU is added to its parent's (cutime + cstime) when reaped: the
    postmaster's says what every exited backend used, ours among them (and the few this
    bench opens to look, a few milliseconds each, and any other client's that exits).
    """
    engine = engine_for(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :app"),
                {"app": APPLICATION},
            )
            own, sessions = (
                await connection.execute(
                    text(
                        "SELECT pg_backend_pid(), sessions FROM pg_stat_database "
                        "WHERE datname = current_database()"
                    )
                )
            ).one()
            reaped = _stat(int(_stat(int(own))[1]))[13:15]
            return PostgresCpu(
                {int(pid): process_cpu(int(pid)) for (pid,) in rows},
                sum(int(ticks) for ticks in reaped) / TICKS,
                int(sessions),
            )
    finally:
        await engine.dispose()


# ----- runs ----------------------------------------------------------------------------


@dataclass
class Measured:
    cycle: Cycle
    postgres_cpu: float
    postgres_exited: float  # the part of it of backends that exited during the cycle
    sessions: int  # connections opened to the database during the cycle


@dataclass
class Run:
    replicas: int
    cycles: list[Measured]
    priming: float  # seconds the start-up requests took

    @property
    def steady(self) -> list[Measured]:
        return self.cycles[1:]

    def median(self, figure: Callable[[Measured], float]) -> float:
        return statistics.median(figure(m) for m in self.steady)

    @property
    def wall(self) -> float:
        return self.median(lambda m: m.cycle.wall)


async def measured_cycle(label: str, url: str, fake: Child, children: list[Child]) -> Measured:
    before = await postgres_cpu(url)
    cycle = await run_cycle(label, url, fake, children)
    after = await postgres_cpu(url)
    used, exited = after.since(before)
    return Measured(cycle, used, exited, after.sessions - before.sessions)


async def prime(children: list[Child], tenants: list[Tenant]) -> float:
    """Each replica sends one request through every connection; the seconds it took.

    A replica plans a connection's cycle from its last response's x-ratelimit headers;
    before any, it assumes 1,000 an hour, which would hold cycle 1 to 66 a connection.
    """
    started = time.monotonic()
    for tenant in tenants:
        for reading in await call_all(children, f"prime {tenant.connection_id}"):
            if reading["answer"] != "ok" or reading["remaining"] < len(tenant.keys):
                raise RuntimeError(f"a replica reads {reading} for {tenant.token}'s budget")
    return time.monotonic() - started


async def run_replicas(
    count: int, cycles: int, url: str, key: str, fake: Child, fake_url: str, tenants: list[Tenant]
) -> Run:
    await reset_database(url)
    async with replicas(replica_url(url), fake_url, key, count) as children:
        priming = await prime(children, tenants)
        measured = []
        for n in range(1, cycles + 1):
            if n > 1:
                await make_due_again(url)
            label = f"{count} replica(s), cycle {n}"
            measured.append(await measured_cycle(label, url, fake, children))
    return Run(count, measured, priming)


def problems_of(run: Run, tenants: list[Tenant]) -> list[str]:
    """What is wrong with any of the run's cycles; empty when nothing is."""
    keys = {k for t in tenants for k in t.keys}
    problems: list[str] = []
    for m in run.cycles:
        c = m.cycle
        off = [t for t in tenants if c.requests_of(t.token) != len(t.keys)]
        checks = [
            (set(c.finished) != keys, f"{len(c.finished)} of {len(keys)} polled"),
            (c.twice > 0, f"{c.twice} polled twice"),
            (bool(keys - c.polled_in_db), f"{len(keys - c.polled_in_db)} not polled in the DB"),
            (c.leases_left > 0, f"{c.leases_left} leases left"),
            (bool(c.errors), f"{len(c.errors)} failed: {set(c.errors.values())}"),
            (bool(c.skipped), f"{len(c.skipped)} skipped"),
            (bool(off), f"{len(off)} connections did not get one request per destination"),
            (c.pages_off(tenants) > 0, f"{c.pages_off(tenants)} destinations not asked once"),
        ]
        problems.extend(f"{c.label}: {message}" for wrong, message in checks if wrong)
    return problems


# ----- report --------------------------------------------------------------------------


def default_share(destinations: int) -> int:
    """Requests a connection's cycle may spend in a full window of Northflank's default."""
    full = BudgetReading(DEFAULT_HOURLY_LIMIT, DEFAULT_HOURLY_LIMIT, DEFAULT_WINDOW_SECONDS)
    return plan_cycle(full, destinations=destinations, poll_interval=POLL_INTERVAL).requests


def print_report(runs: list[Run], destinations: int, teams: int, command: str) -> None:
    cores = os.cpu_count() or 1
    print(f"# {destinations:,} destinations of {teams} workspaces, 1-3 replicas: `{command}`")
    print()
    print(
        f"PostgreSQL; {teams} stored connections, a token each, {destinations // teams} "
        f"destinations each; fake Northflank: {teams} teams behind one router, "
        f"{LATENCY * 1000:.0f} ms a request, {UNLIMITED:,} requests an hour per token (not "
        f"Northflank's default {DEFAULT_HOURLY_LIMIT:,}, which at POLL_INTERVAL {POLL_INTERVAL} "
        f"would allow {default_share(destinations // teams)} a connection a cycle: the budget "
        f"would be the limit); {cores} cores. Steady cycles: every destination due again, "
        "one request each."
    )
    print()
    print(
        "| replicas | cycles | wall s (steady median) | destinations/s | speed-up | "
        "CPU ms / destination (replicas) | PostgreSQL CPU ms / destination | "
        "split across replicas |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    base = runs[0].wall
    for run in runs:
        speed_up = base / run.wall
        print(
            f"| {run.replicas} | {len(run.cycles)} | {run.wall:.1f} | "
            f"{destinations / run.wall:.0f} | {speed_up:.2f}x "
            f"({speed_up / run.replicas:.2f} per replica) | "
            f"{run.median(lambda m: m.cycle.cpu) / destinations * 1000:.1f} | "
            f"{run.median(lambda m: m.postgres_cpu) / destinations * 1000:.1f} | "
            f"{'; '.join(m.cycle.split for m in run.steady)} |"
        )
    print()
    print(
        "Where the time went (steady medians): cores busy with this run's processes "
        "(replicas + PostgreSQL + fake) and with the whole machine, from /proc; the busiest "
        "replica's CPU / wall (1.00: its event loop never waited); the share of PostgreSQL's "
        "CPU that was backends' which exited during the cycle (the pool's overflow), and the "
        "connections the database accepted meanwhile (this bench's 2 look-ups included)."
    )
    print()
    print(
        "| replicas | cycle 1 wall s | steady walls s | cores busy: ours, machine | "
        "busiest replica | PostgreSQL: exited backends | connections opened | "
        "fake CPU ms / destination | start-up requests s |"
    )
    print("|---:|---:|---|---|---:|---:|---:|---:|---:|")
    for run in runs:
        ours = run.median(
            lambda m: (m.cycle.cpu + m.postgres_cpu + m.cycle.fake_cpu) / m.cycle.wall
        )
        busiest = run.median(lambda m: max(float(r["cpu"]) for r in m.cycle.reports) / m.cycle.wall)
        print(
            f"| {run.replicas} | {run.cycles[0].cycle.wall:.1f} | "
            f"{', '.join(f'{m.cycle.wall:.1f}' for m in run.steady)} | "
            f"{ours:.2f}, {run.median(lambda m: m.cycle.cores_busy):.2f} of {cores} | "
            f"{busiest:.2f} | {run.median(lambda m: m.postgres_exited / m.postgres_cpu):.0%} | "
            f"{run.median(lambda m: m.sessions):.0f} | "
            f"{run.median(lambda m: m.cycle.fake_cpu) / destinations * 1000:.1f} | "
            f"{run.priming:.1f} |"
        )
    print()
    print(
        "Connections the replicas opened to PostgreSQL, by the bot's innermost callers "
        "(bench.workspace_child; a steady cycle that opens any is past the pool):"
    )
    for run in runs:
        for n, m in enumerate(run.cycles, start=1):
            callers = ", ".join(
                f"{name} {count}" for name, count in m.cycle.connects.most_common(4)
            )
            print(f"- {run.replicas} replica(s), cycle {n}: {callers or 'none'}")
    print()
    rss = [float(m.cycle.reports[0]["rss_mib"]) for m in runs[0].cycles]
    grew = rss[-1] / rss[0] - 1
    flat = "flat" if abs(grew) <= FLAT else "NOT flat"
    print(
        f"RSS of the 1 replica: {rss[0]:.1f} MiB after cycle 1, {rss[-1]:.1f} MiB after "
        f"cycle {len(rss)} ({grew:+.1%}: {flat}, within {FLAT:.0%}); every cycle: "
        f"{', '.join(f'{r:.0f}' for r in rss)} MiB"
    )


async def main_async(teams: int, per_team: int, cycles: int, memory_cycles: int) -> int:
    started = time.monotonic()
    key = generate_key()
    runs: list[Run] = []
    async with postgres_schema() as url:
        await upgrade(url)
        tenants = await seed(url, key, teams, per_team)
        seeded = time.monotonic() - started
        async with fake_northflank(teams, per_team, UNLIMITED) as (fake, hello):
            for count in REPLICA_COUNTS:
                n = memory_cycles if count == 1 else cycles
                runs.append(
                    await run_replicas(count, n, url, key, fake, str(hello["url"]), tenants)
                )
    command = COMMAND
    if (teams, per_team, cycles, memory_cycles) != (TEAMS, PER_TEAM, CYCLES, MEMORY_CYCLES):
        command += (
            f" --teams {teams} --per-team {per_team} --cycles {cycles} "
            f"--memory-cycles {memory_cycles}"
        )
    print_report(runs, teams * per_team, teams, command)
    print(
        f"(the whole run took {time.monotonic() - started:.0f} s, {seeded:.0f} s of it "
        f"seeding the schema, {teams} connections and {teams * per_team:,} watches)"
    )
    problems = [p for run in runs for p in problems_of(run, tenants)]
    if problems:
        print()
        print("PROBLEMS:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print()
    print(
        "Correct: in every cycle every destination was polled exactly once, none failed, "
        f"no lease was left, and each connection got {per_team} requests."
    )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Polling many workspaces' destinations with 1, 2 and 3 replicas."
    )
    parser.add_argument("--teams", type=int, default=TEAMS, help="workspaces (connections)")
    parser.add_argument("--per-team", type=int, default=PER_TEAM, help="destinations each")
    parser.add_argument("--cycles", type=int, default=CYCLES, help="with 2 and 3 replicas")
    parser.add_argument(
        "--memory-cycles", type=int, default=MEMORY_CYCLES, help="with 1 replica (RSS)"
    )
    args = parser.parse_args()
    if min(args.cycles, args.memory_cycles) < 2:
        parser.error("a run needs a first cycle and at least one steady one")
    raise SystemExit(
        asyncio.run(main_async(args.teams, args.per_team, args.cycles, args.memory_cycles))
    )


if __name__ == "__main__":
    main()
