"""A steady poll's CPU per destination on PostgreSQL, next to a bare floor (issue 17).

    .venv/bin/python -m bench.poll_steady [--destinations 1000] [--cycles 5] [--profile]

One replica, as the running bot wires it (a Replica, so every destination is
leased and released), polls destinations that one channel watches, each with
a page of completed backups that do not change: the steady poll, one request
per destination. The fake Northflank runs in a process of its own
(bench.poll_replica_child northflank), so only the bot's CPU is counted, as
this process's CPU time over a cycle.

The floor runs in the same process on the same pages: a bare loop of httpx and
asyncpg that reads each destination's page, decodes and converts its items,
and upserts the same rows (unchanged rows untouched) and a poll time, in one
transaction, with as many requests in flight as the poller. It is what any
poll must do; the ratio is what the bot's rules, leases, ledger and
bookkeeping cost on top.

Statements and transactions are counted with SQLAlchemy's engine events on
the bot's own engine, round trips at its connections' sockets (every message
asyncpg writes and waits on: statements, BEGIN/COMMIT, connection checks; the
floor's are five a destination: the pool's reset, BEGIN, the upsert, the poll
time, COMMIT). `--profile` prints where one steady cycle's CPU goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import dataclasses
import io
import pstats
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from bench.bare_poll import bare_http, bare_poll_page, bare_pool
from bench.poll_replica_child import destination_ids, utc_now
from bench.poll_replicas import Child
from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.northflank.client import NorthflankClient
from bot.services.poller import CONCURRENCY, Poller
from bot.services.replica import Replica
from bot.store import Store, upgrade
from tests.databases import postgres_schema
from tests.fakes.northflank import DEFAULT_TOKEN

COMMAND = ".venv/bin/python -m bench.poll_steady"
BACKUPS_PER_DESTINATION = 10
# The fake answers at once: CPU is what is measured, and waiting costs none.
LATENCY = 0.0
CHANNEL = "C0STEADY"
TARGET_MS = 5.0
TARGET_RATIO = 2.0


@contextlib.asynccontextmanager
async def fake_northflank(destinations: int) -> AsyncIterator[str]:
    child = await Child.start(
        "northflank", str(LATENCY), str(10**9), str(destinations), str(BACKUPS_PER_DESTINATION)
    )
    try:
        yield str((await child.read())["url"])
    finally:
        await child.close()


# ----- the bot -----------------------------------------------------------------------


@dataclass
class Counts:
    statements: int = 0
    transactions: int = 0
    round_trips: int = 0


def count_database_work(store: Store) -> Counts:
    """Statements; transactions begun (an autocommit connection's "begin" sends no
    BEGIN and is not one); and round trips: the messages asyncpg writes to the
    server, each answered before the next (statements, BEGIN, COMMIT, ROLLBACK and
    connection checks alike), counted at the connection's socket."""
    counts = Counts()
    engine = store.engine.sync_engine

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        counts.statements += 1

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        if connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            counts.transactions += 1

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # asyncpg's own transport: a bench's look inside, not an interface.
        transport = dbapi_connection.driver_connection._transport
        write = transport.write

        def counted(data: Any) -> None:
            counts.round_trips += 1
            write(data)

        transport.write = counted

    return counts


def rss_mib() -> float:
    """This process's resident memory now, from /proc (the bot's: the fake is elsewhere)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Cycle:
    cpu: float
    wall: float
    polled: int
    requests: int
    statements: int
    transactions: int
    errors: int
    rss: float = 0.0
    round_trips: int = 0


class BotPoller:
    """The bot's poller as BotServer wires it, one replica, on its own engine."""

    def __init__(self, url: str, northflank_url: str) -> None:
        self.store = Store.connect(url)
        self.counts = count_database_work(self.store)
        self.client = NorthflankClient(api_token=DEFAULT_TOKEN, base_url=northflank_url)
        self.replica = Replica(self.store, clock=utc_now)
        self.poller = Poller(
            self.store, self.client, clock=utc_now, poll_interval=300, replica=self.replica
        )

    async def start(self, ids: list[str]) -> None:
        gate = asyncio.Semaphore(8)

        async def watch(dest_id: str) -> None:
            async with gate:
                await self.store.save_watch(
                    CHANNEL,
                    Destination(dest_id, f"Bench {dest_id}"),
                    WatchSettings(),
                    "U0B",
                    utc_now(),
                )

        await asyncio.gather(*(watch(d) for d in ids))
        await self.replica.beat()
        await self.client.describe_token()
        # The first poll reads every destination for the first time; not measured here.
        await self.poller.poll_all(force=True)

    async def cycle(self, profile: bool) -> Cycle:
        before = dataclasses.replace(self.counts)
        profiler = cProfile.Profile() if profile else None
        went, cpu = time.monotonic(), time.process_time()
        if profiler is not None:
            profiler.enable()
        report = await self.poller.poll_all(force=True)
        if profiler is not None:
            profiler.disable()
        cycle = Cycle(
            cpu=time.process_time() - cpu,
            wall=time.monotonic() - went,
            polled=len(report.destinations),
            requests=report.requests,
            statements=self.counts.statements - before.statements,
            transactions=self.counts.transactions - before.transactions,
            round_trips=self.counts.round_trips - before.round_trips,
            errors=sum(1 for d in report.destinations if d.error),
            rss=rss_mib(),
        )
        if profiler is not None:
            print_profile(profiler)
        return cycle

    async def close(self) -> None:
        await self.client.aclose()
        await self.store.close()


def print_profile(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(45)
    print(out.getvalue())


# ----- the floor ---------------------------------------------------------------------


class FloorPoller:
    """The floor: the bare loop (bench.bare_poll), one page per destination."""

    def __init__(self, url: str, northflank_url: str, ids: list[str]) -> None:
        self._url = url
        self._ids = ids
        self._http = bare_http(northflank_url)
        self._pool: Any = None

    async def start(self) -> None:
        self._pool = await bare_pool(self._url, CONCURRENCY)
        await self._cycle()  # the first read, as for the bot

    async def _poll(self, destination_id: str) -> None:
        await bare_poll_page(self._http, self._pool, destination_id)

    async def _cycle(self) -> None:
        queue = list(reversed(self._ids))

        async def worker() -> None:
            while queue:
                await self._poll(queue.pop())

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))

    async def cycle(self) -> float:
        cpu = time.process_time()
        await self._cycle()
        return time.process_time() - cpu

    async def close(self) -> None:
        await self._http.aclose()
        if self._pool is not None:
            await self._pool.close()


# ----- the report --------------------------------------------------------------------


async def run(destinations: int, cycles: int, profile: bool) -> None:
    ids = destination_ids(destinations)
    bot: list[Cycle] = []
    floor: list[float] = []
    async with fake_northflank(destinations) as northflank_url, postgres_schema() as url:
        await upgrade(url)
        bot_poller = BotPoller(url, northflank_url)
        floor_poller = FloorPoller(url, northflank_url, ids)
        try:
            await bot_poller.start(ids)
            await floor_poller.start()
            # Alternating, cycle by cycle, so that both meet the same machine.
            for number in range(cycles):
                bot.append(await bot_poller.cycle(profile and number == cycles - 1))
                floor.append(await floor_poller.cycle())
        finally:
            await floor_poller.close()
            await bot_poller.close()
    problems = [
        f"cycle {i + 1}: {c.polled} polled, {c.errors} errors, {c.requests} requests"
        for i, c in enumerate(bot)
        if c.polled != destinations or c.errors or c.requests != destinations
    ]
    ratios = [b.cpu / f for b, f in zip(bot, floor, strict=True)]
    bot_ms = statistics.median(c.cpu for c in bot) / destinations * 1000
    floor_ms = statistics.median(floor) / destinations * 1000
    ratio = statistics.median(ratios)
    print(f"Steady poll, {destinations} destinations x {BACKUPS_PER_DESTINATION} backups,")
    print(f"one replica on PostgreSQL, {CONCURRENCY} in flight; bot and floor cycles alternate.")
    print(f"Reproduce: {COMMAND} --destinations {destinations} --cycles {cycles}\n")
    print(
        "cycle  bot ms/dest  floor ms/dest  ratio  statements/dest  transactions/dest"
        "  round trips/dest  RSS MiB"
    )
    for i, (c, f) in enumerate(zip(bot, floor, strict=True)):
        print(
            f"{i + 1:>5}  {c.cpu / destinations * 1000:11.2f}  {f / destinations * 1000:13.2f}"
            f"  {c.cpu / f:5.2f}  {c.statements / destinations:15.1f}"
            f"  {c.transactions / destinations:17.1f}  {c.round_trips / destinations:16.1f}"
            f"  {c.rss:7.1f}"
        )
    print()
    print(f"bot:   {bot_ms:6.2f} ms CPU per destination, median (target <= {TARGET_MS:g} ms)")
    print(f"floor: {floor_ms:6.2f} ms CPU per destination, median (httpx + json + asyncpg)")
    verdict = "met" if ratio <= TARGET_RATIO and bot_ms <= TARGET_MS else "NOT met"
    grew = bot[-1].rss - bot[0].rss
    print(f"RSS:   {bot[0].rss:.1f} MiB after cycle 1, {bot[-1].rss:.1f} after {len(bot)}", end="")
    print(f" ({grew:+.1f} MiB; this process holds the floor's client and pool too)")
    print(f"ratio: {ratio:6.2f}x the floor, median of the cycles' ratios", end="")
    print(f" (target <= {TARGET_RATIO:g}x and <= {TARGET_MS:g} ms): {verdict}")
    if problems:
        print("\nPROBLEMS:\n  " + "\n  ".join(problems))
        raise SystemExit(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--destinations", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the last cycle")
    args = parser.parse_args()
    asyncio.run(run(args.destinations, args.cycles, args.profile))


if __name__ == "__main__":
    main()
