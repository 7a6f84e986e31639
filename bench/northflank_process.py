"""The fake Northflank in a process of its own, driven over stdin/stdout.

A benchmark that measures the bot's CPU time and memory must not count the
fake's: the fake builds, sorts, copies and serialises every page it serves.
So it runs here, in a child process, and the benchmark sends it one JSON
command per line (add a destination, add generated backups, count or forget
requests) and reads one JSON answer per line. Backups are generated in this
process from a few numbers, so 100,000 of them never cross the pipe.

    .venv/bin/python -m bench.northflank_process   # then type commands, one JSON per line
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.processes import REPO


def _handle(fake: FakeNorthflank, command: dict[str, Any]) -> dict[str, Any]:
    op = command["op"]
    if op == "add_destination":
        fake.add_destination(command["id"], command["name"])
        return {}
    if op == "add_backups":
        # `count` completed backups, the newest at `newest`, `spacing` seconds apart going back.
        newest = datetime.fromisoformat(command["newest"])
        spacing = timedelta(seconds=command["spacing"])
        prefix = command["prefix"]
        fake.add_backups(
            command["dest"],
            (
                make_backup(f"{prefix}-{i:07d}", created_at=newest - i * spacing)
                for i in range(command["count"])
            ),
        )
        return {}
    if op == "request_count":
        return {"count": fake.request_count()}
    if op == "clear_requests":
        fake.clear_requests()
        return {}
    raise ValueError(f"unknown op {op!r}")


def serve() -> None:
    """Print the fake's URL as JSON, then answer commands until stdin closes."""
    with FakeNorthflank(rate_limit=10**9) as fake:
        print(json.dumps({"url": fake.url}), flush=True)
        for line in sys.stdin:
            try:
                answer = {"ok": True, **_handle(fake, json.loads(line))}
            except Exception as exc:  # reported to the benchmark, which stops
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)


class NorthflankProcess:
    """The benchmark's handle on the child process; a context manager."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> Self:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "bench.northflank_process"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.url = str(self._read()["url"])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()  # the child serves until its stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def add_destination(self, dest_id: str, name: str) -> None:
        self._call({"op": "add_destination", "id": dest_id, "name": name})

    def add_backups(
        self, dest_id: str, *, prefix: str, count: int, newest: datetime, spacing: timedelta
    ) -> None:
        self._call(
            {
                "op": "add_backups",
                "dest": dest_id,
                "prefix": prefix,
                "count": count,
                "newest": newest.isoformat(),
                "spacing": spacing.total_seconds(),
            }
        )

    def request_count(self) -> int:
        return int(self._call({"op": "request_count"})["count"])

    def clear_requests(self) -> None:
        self._call({"op": "clear_requests"})

    def _call(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(command) + "\n")
        self._proc.stdin.flush()
        answer = self._read()
        if not answer.get("ok"):
            raise RuntimeError(f"the fake Northflank refused {command['op']}: {answer['error']}")
        return answer

    def _read(self) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            raise RuntimeError("the fake Northflank process exited")
        answer: dict[str, Any] = json.loads(line)
        return answer


if __name__ == "__main__":
    serve()
