"""Runs the fake Northflank and Slack in their own process, so that they do not
share a CPU core's GIL with the load generator. Prints their URLs as JSON, then
serves until stdin closes."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    with FakeNorthflank(rate_limit=10**9) as northflank, FakeSlack() as slack:
        northflank.add_destination("dest-1", "Primary")
        northflank.add_backups(
            "dest-1",
            [make_backup(f"b{i}", created_at=T0 + timedelta(minutes=i)) for i in range(count)],
        )
        print(json.dumps({"northflank": northflank.url, "slack": slack.url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
