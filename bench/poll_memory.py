"""Memory of one destination's first full read, in a process of its own.

    .venv/bin/python -m bench.poll_memory NORTHFLANK_URL DESTINATION_ID BACKUPS

`bench.poll_cost` runs this once per size so that each size starts from a
clean process: the high-water RSS of one run does not hide the next. The
poller reads at most MAX_PAGES_PER_DESTINATION pages per call and goes on
where it stopped, as it would over successive polls, until the store says
the full read is complete.

tracemalloc slows this code down about fivefold, too much to keep it on for
100,000 backups, so it traces two calls: the first (cold: caches, the SDK,
the connection) and the last one that still reads a full
MAX_PAGES_PER_DESTINATION pages, which has the most history behind it. The
high-water RSS covers the whole read, traced or not. Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tracemalloc
from typing import Any

from bench.poll_setup import POLL_INTERVAL, Clock, client_for, fresh_store
from bot.northflank.client import MAX_PER_PAGE
from bot.services.destination_reading import MAX_PAGES_PER_DESTINATION
from bot.services.poller import Poller

# Far more than any size the benchmark uses needs; only a guard against looping forever.
MAX_CALLS = 10_000


def max_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def late_call(backups: int) -> int:
    """The number of the last call that reads a full MAX_PAGES_PER_DESTINATION pages.

    The first call reads that many new pages; each later one re-reads page 1 first
    and so reads one new page fewer: after call n, about n * MAX pages are read.
    """
    return max(2, backups // (MAX_PAGES_PER_DESTINATION * MAX_PER_PAGE))


async def first_full_read(url: str, destination_id: str, backups: int) -> dict[str, Any]:
    clock = Clock()
    traced_calls = {1, late_call(backups)}
    async with fresh_store() as fresh, client_for(url) as client:
        poller = Poller(fresh.store, client, clock=clock, poll_interval=POLL_INTERVAL)
        rss_before = max_rss_bytes()
        rss_after_first = 0
        traced: list[dict[str, int]] = []
        calls = requests = seen = 0
        while not (await fresh.store.scan_state(destination_id)).complete:
            if calls >= MAX_CALLS:
                raise RuntimeError(f"the full read of {destination_id} never completed")
            calls += 1
            if calls in traced_calls:
                tracemalloc.start()
            report = await poller.read_destination(
                destination_id, max_pages=MAX_PAGES_PER_DESTINATION
            )
            if calls in traced_calls:
                retained, peak = tracemalloc.get_traced_memory()
                bookkeeping = tracemalloc.get_tracemalloc_memory()
                tracemalloc.stop()
                traced.append(
                    {"call": calls, "peak": peak, "retained": retained, "overhead": bookkeeping}
                )
            if calls == 1:
                rss_after_first = max_rss_bytes()
            requests += report.requests
            seen += report.backups_seen
            clock.advance()
        rss_end = max_rss_bytes()
        # Closing checkpoints the WAL into the file, so the size is the database's own.
        await fresh.store.close()
        return {
            "calls": calls,
            "requests": requests,
            "backups_seen": seen,
            "traced": traced,
            "max_rss_before": rss_before,
            "max_rss_after_first": rss_after_first,
            "max_rss_end": rss_end,
            "database_bytes": fresh.database_bytes(),
        }


def main() -> None:
    url, destination_id, backups = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(asyncio.run(first_full_read(url, destination_id, backups))))


if __name__ == "__main__":
    main()
