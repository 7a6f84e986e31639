"""Ack latency of `/backups list` while five reports render, against the floor of a
bare Bolt AsyncApp given the same traffic, measured in the same run.

    make bench            # or: .venv/bin/python -m bench.report_ack [--rounds N]

Both apps run as real processes in HTTP mode; the fakes run in a third (with a
destination of 30 days of hourly backups of 20 addons); this process sends
signed requests. Each round sends five `/backups report dest-2 days=30` (read
from the API, drawn with matplotlib in worker threads, uploaded), then, while
they are being drawn, 50 concurrent `/backups list dest-1`, timed to their acks.
Rounds alternate between the two apps so both see the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench.ack_latency import CONCURRENCY, FLOOR, bot_and_floor, percentile
from tests.slack.requests import sign, slash_command_body

REPORTS = 5
# Long enough for the reports to have read their pages and started drawing.
LISTS_AFTER = 0.3


async def one_round(
    http: httpx.AsyncClient, url: str, slack_url: str, tag: str
) -> tuple[list[float], list[float]]:
    """(the lists' ack times, the reports' ack times)."""

    async def send(text: str, key: str) -> float:
        body = slash_command_body(text, f"{slack_url}/response/{key}")
        started = time.perf_counter()
        response = await http.post(url, content=body, headers=sign(body))
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return time.perf_counter() - started

    reports = await asyncio.gather(
        *(send("report dest-2 days=30", f"{tag}-report-{i}") for i in range(REPORTS))
    )
    await asyncio.sleep(LISTS_AFTER)
    lists = await asyncio.gather(
        *(send("list dest-1", f"{tag}-list-{i}") for i in range(CONCURRENCY))
    )
    return list(lists), list(reports)


async def measure(rounds: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    async with bot_and_floor("--recent") as (urls, targets):
        lists: dict[str, list[float]] = {name: [] for name in targets}
        reports: dict[str, list[float]] = {name: [] for name in targets}
        limits = httpx.Limits(max_connections=CONCURRENCY + REPORTS)
        async with httpx.AsyncClient(limits=limits, timeout=30) as http:
            for name, url in targets.items():  # warm-up: imports, matplotlib's fonts
                await one_round(http, url, urls["slack"], f"warm-{name[:4]}")
            for r in range(rounds):
                for name, url in targets.items():
                    got_lists, got_reports = await one_round(
                        http, url, urls["slack"], f"{r}-{name[:4]}"
                    )
                    lists[name] += got_lists
                    reports[name] += got_reports
                    await asyncio.sleep(3)  # let the round's reports finish
    return lists, reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    lists, reports = asyncio.run(measure(args.rounds))
    floor = lists[FLOOR]
    print(
        f"ack latency of {CONCURRENCY} concurrent `/backups list` while {REPORTS} reports "
        f"render, {args.rounds} rounds"
    )
    print(f"{'app':<24}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'p99 / floor':>13}")
    for name, values in lists.items():
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        ratio = percentile(values, 0.99) / percentile(floor, 0.99)
        print(f"{name:<24}{len(values):>10}{p50:>10.1f}{p99:>10.1f}{ratio:>12.2f}x")
    bot_reports = reports["backup-bot"]
    print(
        f"the reports' own acks (bot): p50 {percentile(bot_reports, 0.5) * 1000:.1f} ms, "
        f"max {max(bot_reports) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
