"""Makes docs/report-example.png, the chart the README shows, with the real CLI.

    .venv/bin/python -m docs.report_example

A fake Northflank (tests/fakes) holds a demo destination: 30 days of nightly
backups of five addons, one of them growing, a few failures, an abort and an
empty backup. `python -m bot report` then reads it like any destination it
does not watch and writes the chart, exactly as an operator would.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup
from tests.processes import REPO, clean_env

OUT = REPO / "docs" / "report-example.png"
ADDONS = (
    ("orders-db", 38, 11),  # (name, GiB, minutes)
    ("users-db", 12, 4),
    ("events-db", 24, 16),
    ("billing-db", 6, 3),
    ("search-redis", 2, 1),
)
DAILY = [{"interval": "daily", "minute": [0], "hour": [2]}]


def demo_backups(now: datetime) -> list[dict[str, object]]:
    backups = []
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(32):
        for index, (name, gib, minutes) in enumerate(ADDONS):
            created = midnight - timedelta(days=day) + timedelta(hours=2, minutes=index * 7)
            if created > now:
                continue
            status = "completed"
            size = int((gib + (0.4 * (31 - day) if name == "events-db" else 0)) * 1024**3)
            if (day, name) in {(3, "orders-db"), (4, "orders-db"), (17, "users-db")}:
                status = "failed"
            if (day, name) == (11, "events-db"):
                status = "aborted"
            if (day, name) == (8, "billing-db"):
                size = 0
            took = timedelta(minutes=minutes * (1 + (day % 4) / 10))
            backups.append(
                make_backup(
                    f"{name}-{day}",
                    name=f"{name}-nightly-{day}",
                    status=status,
                    created_at=created,
                    completed_at=created + took,
                    addon=(f"addon-{name}", name),
                    size=size,
                    expired_by=created + timedelta(days=35),
                    schedules=DAILY,
                )
            )
    return backups


def main() -> None:
    with FakeNorthflank() as northflank, tempfile.TemporaryDirectory() as scratch:
        northflank.add_destination("demo", "Production databases")
        northflank.add_backups("demo", demo_backups(datetime.now(UTC)))
        env = clean_env(
            NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
            NORTHFLANK_API_BASE_URL=northflank.url,
            DATABASE_URL=f"sqlite:///{Path(scratch) / 'none.db'}",
        )
        done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "bot", "report", "demo", "--days", "30", "--out", str(OUT)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    print(done.stdout, end="")
    print(done.stderr, end="", file=sys.stderr)
    sys.exit(done.returncode)


if __name__ == "__main__":
    main()
