"""The processes bench.workspaces starts: one replica of the bot, or the fake Northflank.

    .venv/bin/python -m bench.workspace_child replica DATABASE_URL NF_URL POLL_INTERVAL
    .venv/bin/python -m bench.workspace_child northflank LATENCY TEAMS DESTINATIONS BACKUPS [LIMIT]

Both talk to the benchmark over stdin/stdout, one JSON object per line. A replica reads
ENCRYPTION_KEY from its environment (the key the benchmark stored the tokens with).

A replica builds what BotServer builds for polling a multi-workspace deployment: a Store
with the token vault, NorthflankConnections opening each stored connection's client on
first use, Replica, and a Poller with replica=. No environment token is wired in (no
watch goes through connection 0). It starts the replica, whose first heartbeat registers
it, and answers:

    "sync"        beat once more (every replica is registered by now: live_count is right)
    "go"          one `await poller.poll_all()`: wall, CPU, when each destination's poll
                  finished (time.monotonic(), comparable across processes), and the
                  process's RSS afterwards
    "prime ID"    one request (describe the token) through stored connection ID, so that
                  this replica's reading of that connection's budget is Northflank's now
    "quit"        stop the replica (its leases go back), close everything, exit

The fake Northflank is one FakeNorthflankTeams router with TEAMS teams behind it, each a
FakeNorthflank of its own (token `nf-bench-NNN`, LATENCY seconds per request, its own
x-ratelimit window of LIMIT requests an hour, Northflank's default 1,000 unless given),
each with DESTINATIONS destinations `dest-0`... of BACKUPS completed backups. It answers
"stats" (each token's requests since the last "clear", by path, and its own CPU time),
"clear", "exhaust TOKEN" (that team's window starts again now with 0 requests left, for
its whole hour) and "refill TOKEN" (a fresh, full window), and serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import greenlet  # type: ignore[import-untyped]  # SQLAlchemy's; no stubs
from sqlalchemy import event

from bench.poll_replica_child import next_line, say, utc_now
from bench.poll_steady import rss_mib
from bot.core.budget import DEFAULT_HOURLY_LIMIT
from bot.core.watches import Watch
from bot.northflank.errors import NorthflankError
from bot.runtime.settings import PollSettings, load
from bot.services.connections import NorthflankConnections
from bot.services.poll_reports import DestinationReport
from bot.services.poll_work import PagePool
from bot.services.poller import Poller
from bot.services.replica import Replica
from bot.store import PollStart, Store
from tests.fakes.northflank import make_backup
from tests.fakes.northflank_teams import FakeNorthflankTeams

BACKUPS_PATH = "/v1/backup-destinations/"
# Settings want an environment token; none is wired in, so this one is never sent.
UNUSED_TOKEN = "nf-bench-operator-unused"


def team_token(team: int) -> str:
    return f"nf-bench-{team:03d}"


def destination_ids(count: int) -> list[str]:
    return [f"dest-{i}" for i in range(count)]


# ----- one replica ---------------------------------------------------------------------


class TimedPoller(Poller):
    """The bot's Poller, noting when each destination's poll finished."""

    finished: dict[str, float]

    async def poll_destination(
        self,
        destination_id: str,
        watches: Sequence[Watch],
        pool: PagePool | None = None,
        *,
        lease_owner: str | None = None,
        start: PollStart | None = None,
    ) -> DestinationReport:
        try:
            return await super().poll_destination(
                destination_id, watches, pool, lease_owner=lease_owner, start=start
            )
        finally:
            self.finished[destination_id] = time.monotonic()


async def replica_main(database_url: str, northflank_url: str, poll_interval: int) -> None:
    settings = load(
        PollSettings,
        northflank_api_token=UNUSED_TOKEN,
        northflank_api_base_url=northflank_url,
        northflank_team_id=None,
        database_url=database_url,
        poll_interval=poll_interval,
        encryption_key=os.environ["ENCRYPTION_KEY"],
    )
    store = Store.connect(settings.database_url, vault=settings.token_vault())
    connections = NorthflankConnections(
        store, environment=None, client_for_token=settings.northflank_client_for
    )
    replica = Replica(store, clock=utc_now)
    counts = _counted(store)
    poller = TimedPoller(
        store, connections, clock=utc_now, poll_interval=settings.poll_interval, replica=replica
    )
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        await replica.start()
        say({"registered": replica.id})
        while (command := await next_line(reader)) != "quit":
            if command == "sync":
                await replica.beat()
                say({"live_count": replica.live_count})
            elif command == "go":
                counts.clear()
                say({**await _one_cycle(poller, replica, connections), "counts": counts})
            elif command.startswith("prime "):
                say(await _prime(connections, int(command.split()[1])))
            else:
                say({"error": f"unknown command {command!r}"})
    finally:
        await replica.stop()
        await connections.aclose()
        await store.close()


def _counted(store: Store) -> Counter[str]:
    """Counts of the store's transactions, and of claims that found something or not."""
    counts: Counter[str] = Counter()

    def began(_connection: Any) -> None:
        counts["transactions"] += 1

    event.listen(store.engine.sync_engine, "begin", began)

    def connected(_dbapi: Any, _record: Any) -> None:
        # Who opened a connection to the database, by the bot's innermost functions:
        # SQLAlchemy connects in a greenlet whose parent is suspended in the caller's
        # await chain, which its frames still link (a replica opening connections
        # past its pool shows here by caller).
        parent = greenlet.getcurrent().parent
        frame = parent.gr_frame if parent is not None else sys._getframe()
        ours: list[str] = []
        while frame is not None and len(ours) < 3:
            if "/bot/" in frame.f_code.co_filename:
                ours.append(frame.f_code.co_name)
            frame = frame.f_back
        counts[f"connect: {' < '.join(ours) or 'outside the bot'}"] += 1

    event.listen(store.engine.sync_engine, "connect", connected)
    # A replica's poller claims with claim_and_begin (the claim and its reads at once).
    claim = store.claim_and_begin

    async def counted_claim(owner: str, **kwargs: Any) -> tuple[str, PollStart | None] | None:
        found = await claim(owner, **kwargs)
        counts["claims found" if found is not None else "claims empty"] += 1
        return found

    store.claim_and_begin = counted_claim  # type: ignore[method-assign]
    return counts


async def _one_cycle(
    poller: TimedPoller, replica: Replica, connections: NorthflankConnections
) -> dict[str, Any]:
    poller.finished = {}
    went, cpu = time.monotonic(), time.process_time()
    report = await poller.poll_all()
    ended, cpu_used = time.monotonic(), time.process_time() - cpu
    return {
        "replica": replica.id,
        "live_count": replica.live_count,
        "went": went,
        "ended": ended,
        "cpu": cpu_used,
        "polled": {
            d.destination_id: poller.finished.get(d.destination_id, ended)
            for d in report.destinations
        },
        "errors": {d.destination_id: d.error for d in report.destinations if d.error},
        "skipped": list(report.skipped),
        "requests": report.requests,
        "alerts": len(report.alerts),
        "opened": len(connections.opened()),
        "rss_mib": rss_mib(),
    }


async def _prime(connections: NorthflankConnections, connection_id: int) -> dict[str, Any]:
    access = await connections.access(connection_id)
    if access is None:
        return {"error": f"no connection {connection_id}"}
    try:
        await access.client.describe_token()
        answer = "ok"
    except NorthflankError as exc:
        answer = type(exc).__name__
    state = access.client.rate_limit
    return {
        "answer": answer,
        "remaining": state.remaining,
        "reset_in": state.seconds_until_reset(),
    }


# ----- the fake Northflank -------------------------------------------------------------


def _path_kind(path: str) -> str:
    """`dest-1` for /v1/backup-destinations/dest-1/backups; the path itself otherwise."""
    if path.startswith(BACKUPS_PATH) and path.endswith("/backups"):
        return path[len(BACKUPS_PATH) : -len("/backups")]
    return path


def northflank_main(
    latency: float,
    teams: int,
    destinations: int,
    backups: int,
    rate_limit: int = DEFAULT_HOURLY_LIMIT,
) -> None:
    newest = utc_now() - timedelta(minutes=10)
    started = time.monotonic()
    with FakeNorthflankTeams() as router:
        fakes = {}
        for team in range(teams):
            token = team_token(team)
            fake = router.add_team(token, latency=latency, rate_limit=rate_limit)
            fakes[token] = fake
            for dest_id in destination_ids(destinations):
                fake.add_destination(dest_id, f"Bench {dest_id}")
                fake.add_backups(
                    dest_id,
                    (
                        make_backup(f"{dest_id}-b{i}", created_at=newest - i * timedelta(hours=8))
                        for i in range(backups)
                    ),
                )
        say(
            {
                "url": router.url,
                "startup": time.monotonic() - started,
                "threads": threading.active_count(),
            }
        )
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "stats":
                by_token = {
                    token: dict(Counter(_path_kind(r.path) for r in fake.requests))
                    for token, fake in fakes.items()
                }
                say({"by_token": by_token, "cpu": time.process_time()})
            elif command == "clear":
                for fake in fakes.values():
                    fake.clear_requests()
                say({"cleared": True})
            elif command == "exhaust" and argument in fakes:
                fakes[argument].reset_rate_limit(remaining=0)
                say({"exhausted": argument})
            elif command == "refill" and argument in fakes:
                fakes[argument].reset_rate_limit()
                say({"refilled": argument})
            else:
                say({"error": f"unknown command {line.strip()!r}"})


def main() -> None:
    # Only what is worth seeing: the exhausted connection's warnings are expected.
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    mode, *args = sys.argv[1:]
    if mode == "replica":
        asyncio.run(replica_main(args[0], args[1], int(args[2])))
    elif mode == "northflank":
        limit = int(args[4]) if len(args) > 4 else DEFAULT_HOURLY_LIMIT
        northflank_main(float(args[0]), int(args[1]), int(args[2]), int(args[3]), limit)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
