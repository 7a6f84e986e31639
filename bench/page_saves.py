"""A first read's page saves alone, on PostgreSQL, beside another commit's (issue 17).

    .venv/bin/python -m bench.page_saves [--against COMMIT] [--rounds 8] [--pages 100]

`Store.save_backups` for PAGES pages of 100 completed backups (parsed from the API's
shape, as a poll gets them) into a fresh PostgreSQL schema (127.0.0.1:5432, database
`test`, or TEST_POSTGRES_URL): the CPU of this process over the saves (the server's
is its own) and their wall time. Each store is warmed with one page first, so its
statements are compiled and prepared, as in a long-running replica.

With `--against`, that commit's bot/store/backups.py (from `git show`) runs beside
this checkout's, round by round in one process: this VM's speed swings by up to half
within minutes, and alternating lets both sides meet the same swings, where two runs
of `bench.poll_cost` an hour apart cannot separate a change of 10-20 %. The other
commit's module runs with this checkout's other modules, so it must be compatible
with them (true of the commits issue 17's README rows name).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from types import ModuleType

from bench.poll_setup import NOW, Clock
from bot.core.backups import Backup, parse_backup
from bot.store import backups as this_checkout
from tests.databases import migrated_store, postgres_schema
from tests.fakes.northflank_data import make_backup
from tests.processes import REPO

PER_PAGE = 100
DESTINATION = "dest-page-saves"

# BackupQueries.save_backups, called with the store as `self`.
Save = Callable[..., Awaitable[object]]


@dataclass
class Figures:
    label: str
    cpu_ms: list[float] = field(default_factory=list)
    wall_ms: list[float] = field(default_factory=list)


def pages_of(count: int) -> list[list[Backup]]:
    """`count` pages, newest first, of completed backups 10 minutes apart."""
    items = [
        make_backup(f"b-{i:06d}", created_at=NOW - timedelta(minutes=10 * (i + 1)))
        for i in range(count * PER_PAGE)
    ]
    backups = [parse_backup(item) for item in items]
    return [backups[start : start + PER_PAGE] for start in range(0, len(backups), PER_PAGE)]


def module_at(commit: str) -> ModuleType:
    """`commit`'s bot/store/backups.py, loaded as a module of its own."""
    source = subprocess.run(
        ["git", "show", f"{commit}:bot/store/backups.py"],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / f"backups_{commit}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"backups_{commit}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def one_round(save: Save, pages: list[list[Backup]], figures: Figures) -> None:
    clock = Clock()
    async with postgres_schema() as url, migrated_store(url) as store:
        await save(store, "warm-up", pages[0], clock())
        cpu, wall = time.process_time(), time.perf_counter()
        for page in pages:
            await save(store, DESTINATION, page, clock())
        figures.cpu_ms.append((time.process_time() - cpu) * 1000)
        figures.wall_ms.append((time.perf_counter() - wall) * 1000)


async def run(against: str | None, rounds: int, page_count: int) -> None:
    pages = pages_of(page_count)
    sides: list[tuple[Save, Figures]] = [
        (this_checkout.BackupQueries.save_backups, Figures("this checkout"))
    ]
    if against is not None:
        other = module_at(against)
        sides.insert(0, (other.BackupQueries.save_backups, Figures(against)))
    for _ in range(rounds):
        for save, figures in sides:
            await one_round(save, pages, figures)
    rows = page_count * PER_PAGE
    print(
        f"save_backups of {page_count} pages of {PER_PAGE} backups ({rows:,}) into a fresh "
        f"PostgreSQL schema, {rounds} rounds" + (", the two sides alternating" if against else "")
    )
    print(f"{'':<16}{'CPU ms: median':>16}{'min':>8}{'wall ms: median':>17}{'min':>8}")
    for _, f in sides:
        print(
            f"{f.label:<16}{statistics.median(f.cpu_ms):>16.1f}{min(f.cpu_ms):>8.1f}"
            f"{statistics.median(f.wall_ms):>17.1f}{min(f.wall_ms):>8.1f}"
        )
    command = "python -m bench.page_saves" + (f" --against {against}" if against else "")
    print(
        "rounds, CPU ms: "
        + "; ".join(f"{f.label} {', '.join(f'{x:.0f}' for x in f.cpu_ms)}" for _, f in sides)
    )
    print(f"Reproduce: .venv/bin/{command} --rounds {rounds} --pages {page_count}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--against", help="another commit, whose save runs alternately")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--pages", type=int, default=100, help=f"pages of {PER_PAGE}")
    args = parser.parse_args()
    asyncio.run(run(args.against, args.rounds, args.pages))


if __name__ == "__main__":
    main()
