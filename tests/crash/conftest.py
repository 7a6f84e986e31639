"""Crash-test figures: one table per kind, a row per database, printed at the end."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from tests.figures import report


class CrashTables:
    """Rows from each database's run, kept until both have run, then reported together."""

    def __init__(self) -> None:
        self._tables: dict[tuple[str, tuple[str, ...]], list[Sequence[object]]] = {}

    def add(self, title: str, header: Sequence[str], row: Sequence[object]) -> None:
        self._tables.setdefault((title, tuple(header)), []).append(row)

    def report(self) -> None:
        for (title, header), rows in self._tables.items():
            report(title, header, rows)


@pytest.fixture(scope="module")
def crash_tables() -> Iterator[CrashTables]:
    tables = CrashTables()
    yield tables
    tables.report()
