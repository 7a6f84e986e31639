"""How long a person waits for the listing itself: from sending `/backups list`
(or pressing Next) to the reply arriving at response_url, one at a time.

    .venv/bin/python -m bench.reply_latency [--commands N] [--latency SECONDS]

The bot runs as a real process in HTTP mode; the fakes run in this process and
time each reply as it arrives. `--latency` adds a delay to every fake
Northflank response, to see the cost of a slower API.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx

from bench.ack_latency import percentile
from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.processes import REPO, bot_env, free_port, wait_for_health
from tests.slack.requests import button_body, sign, slash_command_body

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def next_value(payload: dict[str, object]) -> str | None:
    for block in payload["blocks"]:  # type: ignore[attr-defined]
        if block["type"] == "actions":
            return str(block["elements"][0]["value"])
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with FakeNorthflank(rate_limit=10**9, latency=args.latency) as nf, FakeSlack() as slack:
        nf.add_destination("dest-1", "Primary")
        nf.add_backups(
            "dest-1",
            [make_backup(f"b{i}", created_at=T0 + timedelta(minutes=i)) for i in range(2000)],
        )
        port = free_port()
        env = bot_env(northflank_url=nf.url, slack_api_url=slack.api_url, port=port)
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=REPO, env=env, stderr=subprocess.DEVNULL
        )
        try:
            url = f"http://127.0.0.1:{port}/slack/events"
            wait_for_health(port)
            timings: dict[str, list[float]] = {"first page": [], "Next page": []}
            value: str | None = None
            for i in range(args.commands):
                kind = "Next page" if value and i % 2 else "first page"
                key = f"k{i}"
                if kind == "first page":
                    # Different filters each time, so most answers miss the cache.
                    body = slash_command_body(
                        f"list dest-1 limit={1 + i % 20}", slack.response_url(key)
                    )
                else:
                    assert value is not None
                    body = button_body(NEXT_PAGE_ACTION, value, slack.response_url(key))
                started = time.monotonic()
                httpx.post(url, content=body, headers=sign(body))
                (reply,) = [r for r in slack.wait_for_responses(i + 1, timeout=30) if r.key == key]
                timings[kind].append(reply.at - started)
                value = next_value(reply.payload)
        finally:
            bot.terminate()
            bot.wait(timeout=10)
    print(f"reply latency, one at a time, fake Northflank latency {args.latency * 1000:.0f} ms")
    print(f"{'reply':<14}{'count':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for kind, values in timings.items():
        if values:
            p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
            print(f"{kind:<14}{len(values):>7}{p50:>10.1f}{p99:>10.1f}{max(values) * 1000:>10.1f}")


if __name__ == "__main__":
    main()
