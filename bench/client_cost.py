"""What opening a Northflank connection's client costs: memory and CPU per client.

    .venv/bin/python -m bench.client_cost [--clients 100] [--rounds 3]

The bot holds one NorthflankClient per Northflank connection (bot/services/
connections.py): a hundred at a hundred teams. Each side opens that many clients in
a fresh child process and reports its RSS growth and CPU per client:

- backup-bot's NorthflankClient (this checkout: one TLS context for the process);
- plain httpx.AsyncClient(), httpx's default: a TLS context of its own per client,
  which loads the CA bundle again, as each NorthflankClient did before 503c0fb;
- plain httpx.AsyncClient sharing one TLS context: the least a client costs.

Nothing is sent: the cost measured is the opening. RSS is read from /proc.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from bench.poll_steady import rss_mib
from tests.processes import REPO

KINDS = {
    "bot": "backup-bot NorthflankClient",
    "httpx": "httpx.AsyncClient(), a context each",
    "shared": "httpx.AsyncClient, one shared context",
}


def child(kind: str, count: int) -> None:
    import httpx

    from bot.northflank.client import NorthflankClient

    shared = httpx.create_ssl_context()

    def open_one() -> object:
        if kind == "bot":
            return NorthflankClient(api_token="bench-token", base_url="https://127.0.0.1:9")
        if kind == "httpx":
            return httpx.AsyncClient()
        return httpx.AsyncClient(verify=shared)

    open_one()  # imports and first-use caches are not the clients' cost
    before, cpu = rss_mib(), time.process_time()
    clients = [open_one() for _ in range(count)]
    print(
        json.dumps(
            {
                "mib": (rss_mib() - before) / len(clients),
                "ms": (time.process_time() - cpu) / len(clients) * 1000,
            }
        )
    )


def measure(kind: str, count: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.client_cost", "--child", kind, "--clients", str(count)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def run(count: int, rounds: int) -> None:
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in KINDS}
    for _ in range(rounds):
        for kind in KINDS:  # interleaved, so that each side meets the machine's swings
            results[kind].append(measure(kind, count))
    print(f"Opening {count} clients in a fresh process, {rounds} rounds (median)")
    print(f"{'':<40}{'MiB per client':>16}{'CPU ms per client':>20}{'MiB for all':>13}")
    for kind, label in KINDS.items():
        mib = statistics.median(r["mib"] for r in results[kind])
        ms = statistics.median(r["ms"] for r in results[kind])
        print(f"{label:<40}{mib:>16.3f}{ms:>20.2f}{mib * count:>13.1f}")
    print(f"Reproduce: .venv/bin/python -m bench.client_cost --clients {count} --rounds {rounds}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=sorted(KINDS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.clients)
    else:
        run(args.clients, args.rounds)


if __name__ == "__main__":
    main()
