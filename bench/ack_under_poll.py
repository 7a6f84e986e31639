"""Ack latency of `/backups list` while a poll cycle of 1,000 destinations is in flight,
against the floor of a bare Bolt AsyncApp in the same run (issue 17).

    .venv/bin/python -m bench.ack_under_poll [--destinations 1000] [--pairs 40]

As bench.ack_latency (the bot, the floor app and the fakes each a process, 50
concurrent signed requests a round, rounds alternating between the two apps),
but the bot runs on PostgreSQL with one channel watching every destination,
POLL_INTERVAL=30, and the fake Northflank answering at once: its poll cycles
are all CPU, the hardest case for its event loop. The first cycle starts two
seconds after start-up and reads every destination for the first time; the
next, 30 seconds later, is a steady one. Only round pairs during which the
database shows polls being recorded count, labelled by cycle.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy import text

from bench.ack_latency import (
    CONCURRENCY,
    FLOOR,
    env_for,
    one_round,
    percentile,
    process,
    wait_healthy,
)
from bench.poll_replica_child import destination_ids
from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.store import Store, engine_for, upgrade
from tests.databases import postgres_schema
from tests.processes import clean_env, free_port

COMMAND = ".venv/bin/python -m bench.ack_under_poll"
CHANNEL = "C0BENCH"
BOT = "backup-bot"
TARGET = 1.2
# Long enough for two cycles: the first (every destination read for the first time)
# and the steady one POLL_INTERVAL later.
GIVE_UP_AFTER = 90.0


@dataclass
class Samples:
    by_app: dict[str, list[float]] = field(default_factory=lambda: {FLOOR: [], BOT: []})
    pairs: int = 0


async def seed(url: str, destinations: int) -> None:
    await upgrade(url)
    store = Store.connect(url)
    gate = asyncio.Semaphore(8)
    now = datetime.now(UTC)

    async def watch(dest_id: str) -> None:
        async with gate:
            await store.save_watch(
                CHANNEL, Destination(dest_id, f"Bench {dest_id}"), WatchSettings(), "U0B", now
            )

    try:
        await asyncio.gather(*(watch(d) for d in destination_ids(destinations)))
    finally:
        await store.close()


async def polls_recorded(url: str) -> tuple[int, datetime | None]:
    """(destinations polled at least once, the latest poll's time)."""
    engine = engine_for(url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    text("SELECT count(last_poll_at), max(last_poll_at) FROM poll_status")
                )
            ).one()
            return int(row[0]), row[1]
    finally:
        await engine.dispose()


async def measure(destinations: int, pairs: int) -> dict[str, Samples]:
    cycles = {"first read": Samples(), "steady": Samples()}
    async with postgres_schema() as url:
        await seed(url, destinations)
        fakes_args = ["-m", "bench.serve_fakes", f"--watched={destinations}"]
        with process(fakes_args, clean_env()) as fakes:
            assert fakes.stdout is not None
            urls = json.loads(fakes.stdout.readline())
            bot_port, floor_port = free_port(), free_port()
            targets = {
                FLOOR: f"http://127.0.0.1:{floor_port}/slack/events",
                BOT: f"http://127.0.0.1:{bot_port}/slack/events",
            }
            bot_env = env_for(urls, bot_port) | {"DATABASE_URL": url, "POLL_INTERVAL": "30"}
            with (
                process(["-m", "bot", "run"], bot_env),
                process(["-m", "bench.floor_app"], env_for(urls, floor_port)),
            ):
                for target in targets.values():
                    await wait_healthy(target)
                limits = httpx.Limits(max_connections=CONCURRENCY)
                async with httpx.AsyncClient(limits=limits, timeout=10) as http:
                    for name, target in targets.items():  # warm-up
                        await one_round(http, target, urls["slack"], f"warm-{name[:4]}")
                    started = asyncio.get_running_loop().time()
                    number = 0
                    while asyncio.get_running_loop().time() - started < GIVE_UP_AFTER and any(
                        s.pairs < pairs for s in cycles.values()
                    ):
                        before = await polls_recorded(url)
                        round_samples = {}
                        for name, target in targets.items():
                            number += 1
                            round_samples[name] = await one_round(
                                http, target, urls["slack"], f"r{number}"
                            )
                        after = await polls_recorded(url)
                        if after[1] == before[1]:
                            continue  # no poll recorded during this pair: not under load
                        # Every destination polled before the pair: a later, steady cycle.
                        label = "steady" if before[0] >= destinations else "first read"
                        samples = cycles[label]
                        if samples.pairs >= pairs:
                            continue
                        samples.pairs += 1
                        for name, values in round_samples.items():
                            samples.by_app[name] += values
    return cycles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--destinations", type=int, default=1000)
    parser.add_argument("--pairs", type=int, default=40)
    args = parser.parse_args()
    cycles = asyncio.run(measure(args.destinations, args.pairs))
    print(
        f"ack latency, {CONCURRENCY} concurrent `/backups list`, while the bot polls "
        f"{args.destinations} destinations (PostgreSQL, fake Northflank instant)"
    )
    print(f"Reproduce: {COMMAND} --destinations {args.destinations} --pairs {args.pairs}\n")
    print(f"{'cycle':<12}{'app':<24}{'rounds':>8}{'p50 ms':>9}{'p99 ms':>9}{'p99 / floor':>13}")
    verdicts = []
    for label, samples in cycles.items():
        floor = samples.by_app[FLOOR]
        if not floor:
            print(f"{label:<12}(no round landed while this cycle ran)")
            continue
        for name, values in samples.by_app.items():
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            ratio = percentile(values, 0.99) / percentile(floor, 0.99)
            if name == BOT:
                verdicts.append(ratio <= TARGET)
            print(f"{label:<12}{name:<24}{samples.pairs:>8}{p50:>9.1f}{p99:>9.1f}{ratio:>12.2f}x")
    met = "met" if verdicts and all(verdicts) else "NOT met"
    print(f"\ntarget: the bot's p99 within {TARGET:g}x the floor's during a cycle: {met}")


if __name__ == "__main__":
    main()
