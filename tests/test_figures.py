from __future__ import annotations

import pytest

from tests.figures import Table, absorb, as_data, report, reported


def test_a_table_renders_aligned_markdown() -> None:
    table = Table("t", ("name", "n"), (("alpha", "1"), ("b", "200")))
    assert table.render().splitlines() == [
        "t",
        "| name  | n   |",
        "|-------|-----|",
        "| alpha | 1   |",
        "| b     | 200 |",
    ]


def test_a_row_of_the_wrong_width_is_refused() -> None:
    with pytest.raises(ValueError, match="needs 2 cells"):
        report("bad", ("a", "b"), [("only one",)])


def test_tables_measured_on_several_workers_are_printed_as_one() -> None:
    # As xdist hands them over: plain lists, one table per worker.
    title = "merged across workers (test_figures)"
    absorb([[title, ["database", "lost"], [["SQLite", "0"]]]])
    absorb([[title, ["database", "lost"], [["PostgreSQL", "0"]]]])
    [table] = [t for t in reported() if t.title == title]
    assert table.rows == (("SQLite", "0"), ("PostgreSQL", "0"))
    assert [title, ["database", "lost"], [["SQLite", "0"]]] in as_data()
