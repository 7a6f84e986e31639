"""Runs the fake Northflank and Slack in their own process, so that they do not
share a CPU core's GIL with the load generator. Prints their URLs as JSON, then
serves until stdin closes.

`dest-1` holds `count` backups (argument 1, default 500) from 2026-01-01; with
`--recent`, `dest-2` holds the last 30 days of hourly backups of 20 addons, for
reports to draw; with `--watched=N`, `dest-0000`... `dest-N-1` hold 3 completed backups
each, for a poll cycle to read."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    count = int(numbers[0]) if numbers else 500
    with FakeNorthflank(rate_limit=10**9) as northflank, FakeSlack() as slack:
        northflank.add_destination("dest-1", "Primary")
        northflank.add_backups(
            "dest-1",
            [make_backup(f"b{i}", created_at=T0 + timedelta(minutes=i)) for i in range(count)],
        )
        if "--recent" in sys.argv:
            northflank.add_destination("dest-2", "Hourly, 20 addons")
            now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
            northflank.add_backups(
                "dest-2",
                [
                    make_backup(
                        f"r{hour}-{addon}",
                        created_at=now - timedelta(hours=hour),
                        completed_at=now - timedelta(hours=hour) + timedelta(minutes=2 + addon),
                        addon=(f"addon-{addon}", f"db-{addon}"),
                        size=(addon + 1) * 50_000_000,
                        status="failed" if (hour * 20 + addon) % 97 == 0 else "completed",
                    )
                    for hour in range(30 * 24)
                    for addon in range(20)
                ],
            )
        watched = [a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--watched=")]
        for i in range(int(watched[0]) if watched else 0):
            dest_id = f"dest-{i:04d}"
            northflank.add_destination(dest_id, f"Bench {dest_id}")
            northflank.add_backups(
                dest_id,
                [
                    make_backup(f"{dest_id}-b{n}", created_at=T0 + timedelta(hours=n))
                    for n in range(3)
                ],
            )
        print(json.dumps({"northflank": northflank.url, "slack": slack.url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
