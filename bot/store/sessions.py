"""How each store call gets its session: a transaction of its own, or a dry run's.

Normally every call runs in its own short transaction on a pooled
connection. In a dry run every call shares one connection whose outer
transaction is rolled back at the end; each call is a savepoint inside it,
so a call that fails undoes only itself, as it would have on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

from sqlalchemy import (
    ClauseElement,
    ColumnElement,
    String,
    Table,
    TextClause,
    bindparam,
    literal_column,
    text,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql.compiler import SQLCompiler

from bot.store.database import SQLITE_WRITE


class Sessions:
    def __init__(
        self,
        factory: async_sessionmaker[AsyncSession],
        dialect: str,
        *,
        engine: AsyncEngine | None = None,
        shared_connection: AsyncConnection | None = None,
    ) -> None:
        self._factory = factory
        self.dialect = dialect
        # For the Core connections of the poll's hot path (below): one or the other.
        self._engine = engine
        self._connection = shared_connection
        # One connection cannot run two statements at once, and the poller
        # works on several destinations concurrently: take turns.
        self._turns = asyncio.Lock() if shared_connection is not None else None
        self._shared_connection = shared_connection is not None
        self._rendered: dict[
            tuple[Callable[[Sessions], ClauseElement], tuple[str, ...]], TextClause
        ] = {}
        # The poll's connections never outnumber what the pool keeps open (see
        # `_slot`); None where there is no such limit to keep to.
        self._poll_connections = _kept_open(engine) if dialect == "postgresql" else None
        self._slots: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None

    @classmethod
    def for_engine(cls, engine: AsyncEngine) -> Sessions:
        factory = async_sessionmaker(engine, expire_on_commit=False)
        return cls(factory, engine.dialect.name, engine=engine)

    @classmethod
    def for_dry_run(cls, connection: AsyncConnection) -> Sessions:
        factory = async_sessionmaker(
            connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        return cls(factory, connection.dialect.name, shared_connection=connection)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._turn(), self._factory() as session:
            yield session

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction that commits when the block ends without error."""
        async with self._turn(), self._factory() as session, session.begin():
            if self.dialect == "sqlite" and not self._shared_connection:
                options: dict[str, Any] = {SQLITE_WRITE: True}
                await session.connection(execution_options=options)
            yield session

    @contextlib.asynccontextmanager
    async def poll_read(self) -> AsyncIterator[AsyncSession]:
        """`read`, within the polls' share of the pool (see `_slot`)."""
        async with self._slot(), self.read() as session:
            yield session

    @contextlib.asynccontextmanager
    async def poll_write(self) -> AsyncIterator[AsyncSession]:
        """`write`, within the polls' share of the pool (see `_slot`): for the ORM
        work of a poll, which dozens of polls in flight would otherwise each take a
        connection for, past the pool's kept ones (a first read stores every page)."""
        async with self._slot(), self.write() as session:
            yield session

    # A poll runs a few statements per destination, thousands a cycle: on a Core
    # connection rather than an ORM session they cost markedly less CPU (issue 17).
    # They hold no ORM objects, only Core rows.
    #
    # On PostgreSQL these connections autocommit: each statement is its own
    # transaction, which spares a poll the BEGIN and the COMMIT (or ROLLBACK), two
    # round trips of the few it makes. Every statement run on them must therefore
    # stand on its own: a claim, an upsert, a read. SQLite keeps its transaction,
    # which is what takes its write lock up front.

    @contextlib.asynccontextmanager
    async def read_connection(self) -> AsyncIterator[AsyncConnection]:
        async with self._turn(), self._core(write=False) as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def write_connection(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose statements each commit, or all at the block's end
        (SQLite); see above."""
        async with self._turn(), self._core(write=True) as connection:
            yield connection

    @contextlib.asynccontextmanager
    async def _core(self, *, write: bool) -> AsyncIterator[AsyncConnection]:
        if self._connection is not None:
            # A dry run: a savepoint on the shared connection, as its sessions have.
            async with self._connection.begin_nested():
                yield self._connection
            return
        assert self._engine is not None
        async with self._slot(), self._engine.connect() as connection:
            if self.dialect == "postgresql":
                await connection.execution_options(isolation_level="AUTOCOMMIT")
                yield connection
                return
            if not write:
                yield connection
                return
            await connection.execution_options(**{SQLITE_WRITE: True})
            async with connection.begin():
                yield connection

    def insert(self, table: Table) -> postgresql.Insert | sqlite.Insert:
        """INSERT with this dialect's ON CONFLICT clauses (both spell them the same)."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """A place among the poll's connections: polls wait for one of the pool's kept
        connections rather than open more.

        A replica has up to 64 polls in flight; on a busy event loop their short
        transactions overlap, and each one past the pool's size opened an overflow
        connection that was closed again on return: at 10,000 destinations, 260 to
        2,469 new PostgreSQL connections a cycle, nearly all of the database's CPU
        (issue 17, bench.poll_scale). One kept connection is left to Slack's
        requests, so that a reply during a cycle does not wait for a new one.
        """
        if self._poll_connections is None:
            yield
            return
        loop = asyncio.get_running_loop()
        if self._slots is None or self._slots[0] is not loop:
            self._slots = (loop, asyncio.Semaphore(max(1, self._poll_connections - 1)))
        async with self._slots[1]:
            yield

    def rendered_once(
        self, build: Callable[[Sessions], ClauseElement], column_keys: Sequence[str]
    ) -> TextClause:
        """`build(self)`'s statement for rows of `column_keys`, compiled once per store.

        SQLAlchemy 2.0 cannot cache the dialects' INSERT ... ON CONFLICT
        (`inherit_cache = False`): built and compiled anew on every call, the
        upserts of a first read cost more than the rows they write (issue 17). Its
        SQL is rendered here once, as text with the same typed parameters, which
        SQLAlchemy does cache; the values still go through the columns' types.
        """
        key = (build, tuple(column_keys))
        rendered = self._rendered.get(key)
        if rendered is None:
            # The drivers' own PostgreSQL dialects write some parameters as
            # `:name::TYPE`, which text() would not read back as parameters.
            dialect = (PGDialect if self.dialect == "postgresql" else sqlite.dialect)(
                paramstyle="named"
            )
            compiled = build(self).compile(dialect=dialect, column_keys=list(column_keys))
            assert isinstance(compiled, SQLCompiler)
            if set(compiled.binds) != set(column_keys):
                # A default or a literal would need SQLAlchemy's own execution path.
                raise ValueError(f"cannot render once: parameters {sorted(compiled.binds)}")
            rendered = text(compiled.string).bindparams(
                *(bindparam(name, type_=bound.type) for name, bound in compiled.binds.items())
            )
            self._rendered[key] = rendered
        return rendered

    @contextlib.asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        if self._turns is None:
            yield
            return
        async with self._turns:
            yield


def _kept_open(engine: AsyncEngine | None) -> int | None:
    """How many connections the engine's pool keeps open (None: it has no such size)."""
    size = getattr(engine.pool, "size", None) if engine is not None else None
    return int(size()) if callable(size) else None


# What the store's query functions run their statements on.
Executor = AsyncSession | AsyncConnection


class UsesSessions:
    """The base of the store's query mixins: every call takes its session from here."""

    _sessions: Sessions


class NamedRow(Protocol):
    """A result row read by column name: SQLAlchemy's Row, or a decoded record
    (bot/store/record_arrays.py)."""

    @property
    def _mapping(self) -> Mapping[Any, Any]: ...

    def __getattr__(self, name: str) -> Any: ...


def rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE touched (the async Result types it only on some paths)."""
    return int(getattr(result, "rowcount", 0) or 0)


def inline_strings(values: Iterable[str]) -> list[ColumnElement[str]]:
    """Constant strings (an enum's values) written into the SQL itself, for `IN`.

    A list of plain values makes SQLAlchemy expand a bound IN list anew on every
    execution; these are part of the statement, compiled once with it.
    """
    return [literal_column("'" + value.replace("'", "''") + "'", String) for value in values]
