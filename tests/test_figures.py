from __future__ import annotations

import pytest

from tests.figures import Table, report


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
