"""Several reads in one PostgreSQL statement: each read's rows as one array of records.

A statement returns rows of one shape; the reads a poll makes up front have
four. Each becomes a column of the one row: `array_agg(ROW(...) ORDER BY ...)`,
which asyncpg decodes into a list of tuples with every value already typed. The
columns' own types then finish each value as SQLAlchemy would (a UTC datetime,
JSON text), so a decoded record reads exactly like a row of the read alone.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, Select, func, tuple_, type_coerce
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.engine import Dialect
from sqlalchemy.types import NullType


class RecordRow:
    """One decoded record, read like a SQLAlchemy Row: by attribute or `_mapping`."""

    __slots__ = ("_mapping",)

    def __init__(self, mapping: Mapping[str, Any]) -> None:
        self._mapping = mapping

    def __getattr__(self, name: str) -> Any:
        try:
            return self._mapping[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"RecordRow({dict(self._mapping)!r})"


def record_array(query: Select[Any], *order: ColumnElement[Any]) -> ScalarSelect[Any]:
    """`query`'s rows as one array of records, in `order` (NULL when there are none).
    Correlated, like any scalar subquery, to the statement it is placed in."""
    row = tuple_(*query.selected_columns)
    aggregated = type_coerce(func.array_agg(aggregate_order_by(row, *order)), NullType())
    return (
        query.with_only_columns(aggregated, maintain_column_froms=True)
        .order_by(None)
        .scalar_subquery()
    )


class RecordShape:
    """How to decode the records of `record_array(query)`: names and result types."""

    def __init__(self, query: Select[Any]) -> None:
        columns = list(query.selected_columns)
        self.names = tuple(str(column.key) for column in columns)
        self._types = tuple(column.type for column in columns)

    def rows(self, records: Sequence[tuple[Any, ...]] | None, dialect: Dialect) -> list[RecordRow]:
        if not records:
            return []
        names = self.names
        steps = [(i, step) for i, step in enumerate(self._steps(dialect)) if step is not None]
        rows = []
        for record in records:
            values = list(record)
            for i, step in steps:
                values[i] = step(values[i])
            rows.append(RecordRow(dict(zip(names, values, strict=True))))
        return rows

    @functools.cache  # noqa: B019 - one per shape and dialect, both kept for the process
    def _steps(self, dialect: Dialect) -> tuple[Any, ...]:
        return tuple(
            kind.dialect_impl(dialect).result_processor(dialect, None) for kind in self._types
        )
