"""The processes bench.poll_replicas starts: one replica of the bot, or the fake Northflank.

    .venv/bin/python -m bench.poll_replica_child replica DATABASE_URL NF_URL POLL_INTERVAL warm|cold
    .venv/bin/python -m bench.poll_replica_child northflank LATENCY RATE_LIMIT DESTINATIONS BACKUPS

Both talk to the benchmark over stdin/stdout, one JSON object per line.

A replica builds what BotServer builds for polling (Store.connect, settings
.northflank_client(), Replica, Poller with replica=) and starts the replica, whose first
heartbeat registers it. "warm", it asks Northflank to describe the token, as BotServer
does at start-up, so the first poll knows the budget ("cold" skips that). Then it
answers:

    "sync"  beat once more (every replica is registered by now, so live_count is right)
    "go"    one `await poller.poll_all()`, timed: wall, CPU, and what it polled
    "quit"  stop the replica (its leases go back), close everything, exit

The fake Northflank serves DESTINATIONS destinations `dest-0000`..., each with BACKUPS
completed backups (one page), LATENCY seconds per request, RATE_LIMIT an hour. It
answers "stats" (requests by destination since the last "clear", and its own CPU
time) and "clear", and serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.runtime.settings import PollSettings, load
from bot.services.poller import Poller
from bot.services.replica import Replica
from bot.store import Store
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup

BACKUPS_PATH = "/v1/backup-destinations/"


def destination_ids(count: int) -> list[str]:
    return [f"dest-{i:04d}" for i in range(count)]


def utc_now() -> datetime:
    return datetime.now(UTC)


# ----- one replica ---------------------------------------------------------------------


def say(answer: dict[str, Any]) -> None:
    print(json.dumps(answer), flush=True)


async def next_line(reader: asyncio.StreamReader) -> str:
    line = await reader.readline()
    if not line:
        raise SystemExit("the benchmark went away")
    return line.decode().strip()


async def replica_main(
    database_url: str, northflank_url: str, poll_interval: int, *, warm: bool
) -> None:
    # The same settings and the same wiring as the running bot, pointed at the fake.
    settings = load(
        PollSettings,
        northflank_api_token=DEFAULT_TOKEN,
        northflank_api_base_url=northflank_url,
        northflank_team_id=None,
        database_url=database_url,
        poll_interval=poll_interval,
    )
    store = Store.connect(settings.database_url)
    client = settings.northflank_client()
    replica = Replica(store, clock=utc_now)
    poller = Poller(
        store, client, clock=utc_now, poll_interval=settings.poll_interval, replica=replica
    )
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await replica.start()
        if warm:
            # BotServer checks the token at start-up: the bot's first response, and the budget.
            await client.describe_token()
        say({"registered": replica.id})
        if await next_line(reader) != "sync":
            raise SystemExit("expected sync")
        await replica.beat()
        say({"live_count": replica.live_count, "remaining": client.rate_limit.remaining})
        if await next_line(reader) != "go":
            raise SystemExit("expected go")
        went, cpu = time.monotonic(), time.process_time()
        report = await poller.poll_all()
        ended, cpu_used = time.monotonic(), time.process_time() - cpu
        plan = report.plan
        say(
            {
                "replica": replica.id,
                "live_count": replica.live_count,
                "went": went,
                "ended": ended,
                "seconds": ended - went,
                "cpu": cpu_used,
                "polled": [d.destination_id for d in report.destinations],
                "requests": report.requests,
                "errors": [d.error for d in report.destinations if d.error],
                "alerts": len(report.alerts),
                "skipped": len(report.skipped),
                "plan": None
                if plan is None
                else {
                    "requests": plan.requests,
                    "stretched": plan.stretched,
                    "reason": plan.reason,
                },
                "remaining": client.rate_limit.remaining,
            }
        )
        await next_line(reader)  # "quit": the benchmark has read PostgreSQL's CPU time by now
    finally:
        await replica.stop()
        await client.aclose()
        await store.close()


# ----- the fake Northflank -------------------------------------------------------------


def _destination_of(path: str) -> str | None:
    """`dest-0001` from /v1/backup-destinations/dest-0001/backups; None for other paths."""
    if not (path.startswith(BACKUPS_PATH) and path.endswith("/backups")):
        return None
    return path[len(BACKUPS_PATH) : -len("/backups")]


def northflank_main(latency: float, rate_limit: int, destinations: int, backups: int) -> None:
    newest = utc_now() - timedelta(minutes=10)
    with FakeNorthflank(latency=latency, rate_limit=rate_limit) as fake:
        for dest_id in destination_ids(destinations):
            fake.add_destination(dest_id, f"Bench {dest_id}")
            fake.add_backups(
                dest_id,
                (
                    make_backup(f"{dest_id}-b{i}", created_at=newest - i * timedelta(hours=8))
                    for i in range(backups)
                ),
            )
        say({"url": fake.url})
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                requests = fake.requests
                pages = Counter(
                    dest for r in requests if (dest := _destination_of(r.path)) is not None
                )
                say(
                    {
                        "requests": len(requests),
                        "pages": dict(pages),
                        "cpu": time.process_time(),
                    }
                )
            elif command == "clear":
                fake.clear_requests()
                say({"cleared": True})
            else:
                say({"error": f"unknown command {command!r}"})


def main() -> None:
    # Only what is worth seeing: a replica's warnings would repeat the plan printed anyway.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    mode, *args = sys.argv[1:]
    if mode == "replica":
        asyncio.run(replica_main(args[0], args[1], int(args[2]), warm=args[3] == "warm"))
    elif mode == "northflank":
        northflank_main(float(args[0]), int(args[1]), int(args[2]), int(args[3]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
