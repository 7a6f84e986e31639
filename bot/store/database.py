"""DATABASE_URL -> an async engine, and the column types both databases share.

The operator writes the URL the way every other tool writes it
(`sqlite:///data/bot.db`, `postgresql://user@host/db`); the async drivers
(aiosqlite, asyncpg) are a detail of this module. Error messages never
repeat the URL itself: it may hold a password.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Text, event
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.exc import ArgumentError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_only

# An execution option: this connection's transaction will write, so on SQLite
# it takes the write lock up front (BEGIN IMMEDIATE). A deferred transaction
# that reads and then writes fails at once with "database is locked" when
# another connection wrote in between, busy_timeout or not.
SQLITE_WRITE = "backup_bot_sqlite_write"

_SQLITE_SCHEMES = {"sqlite", "sqlite+aiosqlite"}
_POSTGRES_SCHEMES = {"postgresql", "postgres", "postgresql+asyncpg"}
_SQLITE_PRAGMAS = ("busy_timeout=5000", "foreign_keys=ON")
_SQLITE_BUSY_SECONDS = 5.0


@dataclass(frozen=True)
class AsyncTarget:
    """What `create_async_engine` needs: the driver URL and the driver's extra arguments."""

    url: URL
    connect_args: dict[str, Any] = field(default_factory=dict)

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"


def async_target(database_url: str) -> AsyncTarget:
    """Translate DATABASE_URL for the async drivers. Pure: touches no file or server."""
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        # Not SQLAlchemy's message: it may quote the URL, password included.
        raise ValueError(
            "DATABASE_URL is not a database URL; "
            "use sqlite:///path/to/file.db or postgresql://user@host/db"
        ) from None
    if url.drivername in _SQLITE_SCHEMES:
        return AsyncTarget(url.set(drivername="sqlite+aiosqlite"))
    if url.drivername in _POSTGRES_SCHEMES:
        return _postgres_target(url)
    raise ValueError(
        f"DATABASE_URL has an unsupported scheme {url.drivername!r}; "
        "use sqlite:///path/to/file.db or postgresql://user@host/db"
    )


def _postgres_target(url: URL) -> AsyncTarget:
    query = dict(url.query)
    connect_args: dict[str, Any] = {}
    options = query.pop("options", None)
    if options is not None:
        # libpq's `options` has no asyncpg keyword; its `-c name=value` settings
        # become asyncpg's server_settings, sent at connection start just the same.
        text = options if isinstance(options, str) else " ".join(options)
        connect_args["server_settings"] = _server_settings(text)
    sslmode = query.pop("sslmode", None)
    if sslmode is not None and "ssl" not in query:
        # libpq spells it sslmode, asyncpg ssl; the values are the same words.
        query["ssl"] = sslmode
    return AsyncTarget(
        url.set(drivername="postgresql+asyncpg", query=query), connect_args=connect_args
    )


def _server_settings(options: str) -> dict[str, str]:
    """`-c search_path=x -cstatement_timeout=5s --work_mem=4MB` -> {name: value}."""
    try:
        words = shlex.split(options)
    except ValueError:
        raise ValueError("DATABASE_URL's options= parameter cannot be read") from None
    settings: dict[str, str] = {}
    words.reverse()
    while words:
        word = words.pop()
        if word == "-c" and words:
            word = words.pop()
        elif word.startswith("-c") or word.startswith("--"):
            word = word[2:]
        else:
            raise ValueError(
                "DATABASE_URL's options= parameter may only hold -c name=value settings"
            )
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise ValueError(f"DATABASE_URL's options= setting {name!r} has no value")
        settings[name.replace("-", "_")] = value
    return settings


# A pooled PostgreSQL connection idle for longer than this is checked before use.
PING_AFTER_IDLE_SECONDS = 1.0


def engine_for(
    database_url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS
) -> AsyncEngine:
    """An async engine for DATABASE_URL; for SQLite, the file's folder is created too."""
    target = async_target(database_url)
    if target.is_sqlite:
        _create_parent_folder(target.url)
        engine = create_async_engine(target.url, connect_args=target.connect_args)
        _configure_sqlite(engine)
        return engine
    engine = create_async_engine(target.url, connect_args=target.connect_args)
    _ping_when_idle(engine, ping_after_idle)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """Check a pooled connection before use, as pool_pre_ping does, but only when it
    has been idle for `idle_seconds` (HikariCP's "alive bypass window").

    pool_pre_ping checks every checkout, and through asyncpg outside a transaction
    a check is three round trips (BEGIN, a query, ROLLBACK): six of a steady poll's
    few, each poll checking out twice (issue 17). A connection returned moments
    ago is alive unless the server went away in those moments; then the statement
    fails as it would have anyway a moment later, and SQLAlchemy, seeing a
    disconnect, discards the pool's older connections, so that one error is all.
    """
    sync_engine = engine.sync_engine

    def _stamp(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def _check(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)
        if returned is not None and time.monotonic() - returned < idle_seconds:
            return
        try:
            sync_engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:  # whatever the driver raises for a dead connection
            # The pool's documented answer: discard this one and check out another.
            raise DisconnectionError("a pooled connection no longer answers") from exc

    event.listen(sync_engine, "connect", _stamp)
    event.listen(sync_engine, "checkin", _stamp)
    event.listen(sync_engine, "checkout", _check)


_RETURNED_AT = "backup_bot_returned_at"


def redacted(database_url: str) -> str:
    """The URL as it may be logged: the password masked."""
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "(unreadable DATABASE_URL)"


def _create_parent_folder(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return
    # Relative to the working directory, as SQLite itself resolves it.
    Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The driver's own implicit BEGIN breaks SAVEPOINT (which `dry_run`
        # needs) and cannot say IMMEDIATE; `_on_begin` emits BEGIN instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        _use_wal(cursor)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(SQLITE_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL (it stays so), unless another connection already did.

    Switching takes the file's lock for a moment, and SQLite answers "database
    is locked" at once, busy_timeout or not, to a second connection switching
    at the same time: replicas or a `db upgrade` starting beside `run` on a new
    file. So the switch is retried for as long as busy_timeout would wait.
    """
    deadline = time.monotonic() + _SQLITE_BUSY_SECONDS
    while True:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except Exception as exc:  # the driver's OperationalError, whichever driver
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        # The connect event runs as sync code in SQLAlchemy's greenlet on the
        # event loop: wait without blocking the loop.
        await_only(asyncio.sleep(0.02))


class UTCDateTime(TypeDecorator[datetime]):
    """Stored in UTC, always read back as an aware UTC datetime.

    SQLite has no time zones and hands back naive datetimes; PostgreSQL's
    timestamptz comes back in UTC. A naive datetime on the way in is a bug
    upstream (every clock in the bot is aware), so it is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        value = _aware_utc(value)
        # SQLite would keep the wall time and drop the zone; it is UTC already.
        return value.replace(tzinfo=None) if value and dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any]:
        # Run for every datetime of every row written: SQLAlchemy's composition of
        # process_bind_param with SQLite's own formatting cost a first read of
        # 10,000 backups more than the SQL that stores them (issue 17). The same
        # values in one step; tests hold them equal to SQLAlchemy's.
        return _sqlite_utc_text if dialect.name == "sqlite" else _aware_utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return _utc_read(value)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None]:
        # Run for every datetime of every row read, as bind_processor for every one
        # written: SQLAlchemy's composition costs two calls more a value, and the
        # driver's value is nearly always in UTC already (asyncpg's is). Tests hold
        # the values equal to SQLAlchemy's.
        driver = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)
        if driver is None:
            return _utc_read
        return lambda value: _utc_read(driver(value))


def _utc_read(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _aware_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is UTC:  # nearly always: every clock and parser in the bot gives UTC
        return value
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} cannot be stored; use UTC")
    return value.astimezone(UTC)


def _sqlite_utc_text(value: datetime | None) -> str | None:
    """SQLite's DATETIME text as SQLAlchemy writes it ("2026-12-05 16:35:14.000000"), in UTC."""
    value = _aware_utc(value)
    if value is None:
        return None
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")


def json_text(value: Any) -> str | None:
    """How JSONText stores `value`."""
    return None if value is None else json.dumps(value, separators=(",", ":"))


class JSONText(TypeDecorator[Any]):
    """JSON kept as plain text, the same on both databases; nothing queries inside it."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return json_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)
