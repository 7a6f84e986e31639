"""Figures that tests measure and the README quotes, printed at the end of the run.

pytest captures what a passing test prints, so a test hands its table to
`report()` instead; `pytest_terminal_summary` (tests/conftest.py) prints
every table after the results, under "measured figures". With the suite in
parallel (pytest-xdist) each worker hands its tables to the controller when
it finishes (`as_data`, `absorb`), and the rows of tables with the same title
and header, measured on different workers, are printed as one table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def render(self) -> str:
        cells = [self.header, *self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.header))]

        def line(row: Sequence[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

        rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
        return "\n".join([self.title, line(self.header), rule, *map(line, self.rows)])


_TABLES: list[Table] = []


def report(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    """Keep a table for the end-of-run summary; returns it so a test may also print it."""
    table = Table(
        title,
        tuple(header),
        tuple(tuple(str(cell) for cell in row) for row in rows),
    )
    if any(len(row) != len(table.header) for row in table.rows):
        raise ValueError(f"every row of {title!r} needs {len(table.header)} cells")
    _TABLES.append(table)
    return table


def reported() -> list[Table]:
    """Every table kept so far, those of one title and header merged, in order of arrival."""
    merged: dict[tuple[str, tuple[str, ...]], list[tuple[str, ...]]] = {}
    for table in _TABLES:
        merged.setdefault((table.title, table.header), []).extend(table.rows)
    return [Table(title, header, tuple(rows)) for (title, header), rows in merged.items()]


def as_data() -> list[list[object]]:
    """This process's tables as plain lists, which xdist can send to the controller."""
    return [
        [table.title, list(table.header), [list(row) for row in table.rows]] for table in _TABLES
    ]


def absorb(data: list[list[object]]) -> None:
    """Keep tables a worker measured (`as_data` on its side)."""
    for title, header, rows in data:
        assert isinstance(title, str) and isinstance(header, list) and isinstance(rows, list)
        report(title, header, rows)
