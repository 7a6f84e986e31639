"""Ack latency of `/backups list` under 50 concurrent requests, against the floor
of a bare Bolt AsyncApp that acks at once, measured in the same run.

    make bench            # or: .venv/bin/python -m bench.ack_latency [--rounds N]

Both apps run as real processes in HTTP mode; the fakes run in a third; this
process only sends signed requests and times each one until its HTTP response
(the ack). Rounds alternate between the two apps so both see the same machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import httpx

from tests.processes import REPO, bot_env, clean_env, free_port
from tests.slack.requests import sign, slash_command_body

CONCURRENCY = 50
FLOOR = "floor (bare Bolt app)"


@contextmanager
def process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def wait_healthy(url: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(200):
            try:
                await http.post(url, content="")
                return
            except httpx.TransportError:
                await asyncio.sleep(0.05)
    raise SystemExit(f"{url} never came up")


async def one_round(http: httpx.AsyncClient, url: str, slack_url: str, tag: str) -> list[float]:
    async def one(i: int) -> float:
        body = slash_command_body("list dest-1", f"{slack_url}/response/{tag}-{i}")
        headers = sign(body)
        started = time.perf_counter()
        response = await http.post(url, content=body, headers=headers)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        return elapsed

    return list(await asyncio.gather(*(one(i) for i in range(CONCURRENCY))))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def env_for(urls: dict[str, str], port: int) -> dict[str, str]:
    # The floor app reads the same variables, so both get identical configuration.
    return bot_env(
        northflank_url=urls["northflank"], slack_api_url=urls["slack"] + "/api/", port=port
    )


@asynccontextmanager
async def bot_and_floor(*fake_args: str) -> AsyncIterator[tuple[dict[str, str], dict[str, str]]]:
    """The fakes, the bot and the bare Bolt floor app, each a process, all answering:
    (the fakes' URLs, each app's /slack/events URL by name)."""
    with process(["-m", "bench.serve_fakes", *fake_args], clean_env()) as fakes:
        assert fakes.stdout is not None
        urls = json.loads(fakes.stdout.readline())
        bot_port, floor_port = free_port(), free_port()
        targets = {
            FLOOR: f"http://127.0.0.1:{floor_port}/slack/events",
            "backup-bot": f"http://127.0.0.1:{bot_port}/slack/events",
        }
        with (
            process(["-m", "bot", "run"], env_for(urls, bot_port)),
            process(["-m", "bench.floor_app"], env_for(urls, floor_port)),
        ):
            for url in targets.values():
                await wait_healthy(url)
            yield urls, targets


async def measure(rounds: int) -> dict[str, list[float]]:
    async with bot_and_floor() as (urls, targets):
        samples: dict[str, list[float]] = {name: [] for name in targets}
        limits = httpx.Limits(max_connections=CONCURRENCY)
        async with httpx.AsyncClient(limits=limits, timeout=10) as http:
            for name, url in targets.items():  # warm-up: auth.test, imports, connections
                await one_round(http, url, urls["slack"], f"warm-{name[:4]}")
            for r in range(rounds):
                for name, url in targets.items():
                    samples[name] += await one_round(http, url, urls["slack"], f"{r}")
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    samples = asyncio.run(measure(args.rounds))
    floor = samples[FLOOR]
    print(f"ack latency, {CONCURRENCY} concurrent `/backups list`, {args.rounds} rounds")
    print(f"{'app':<24}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}{'p99 / floor':>13}")
    for name, values in samples.items():
        p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
        ratio = percentile(values, 0.99) / percentile(floor, 0.99)
        print(f"{name:<24}{len(values):>10}{p50:>10.1f}{p99:>10.1f}{ratio:>12.2f}x")
    print(f"mean of all samples: {statistics.fmean(samples['backup-bot']) * 1000:.1f} ms (bot)")


if __name__ == "__main__":
    main()
