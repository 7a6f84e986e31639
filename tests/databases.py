"""The databases the store's tests run on: a SQLite file, and a PostgreSQL schema.

Every test gets a database of its own. On PostgreSQL that is a fresh schema
in TEST_POSTGRES_URL's database, reached through libpq's `options=-csearch_path`
(which the bot must understand anyway), and dropped afterwards.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store import Store, upgrade

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DATABASES = ("sqlite", "postgresql")
CONNECT_TIMEOUT = 5.0


@contextmanager
def executed_statements() -> Iterator[list[str]]:
    """The SQL text of every statement any engine runs inside the block, in order."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])  # (connection, cursor, statement, ...)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


# Why PostgreSQL could not be reached, once known: the other tests skip at once.
_unreachable: list[str] = []


@asynccontextmanager
async def migrated_store(url: str) -> AsyncIterator[Store]:
    """A Store on `url`'s database, migrated first and closed afterwards."""
    await upgrade(url)
    store = Store.connect(url)
    try:
        yield store
    finally:
        await store.close()


def postgres_url() -> str:
    return os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def sqlite_url(folder: Path) -> str:
    return f"sqlite:///{folder / 'bot.db'}"


def with_search_path(url: str, schema: str) -> str:
    """The URL, its connections confined to `schema` (as libpq spells it)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "options"]
    query.append(("options", f"-csearch_path={schema}"))
    return urlunsplit(parts._replace(query=urlencode(query)))


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A URL on a fresh, empty schema, dropped with everything in it afterwards."""
    server = postgres_url()
    # Plain SQLAlchemy and asyncpg, not the code under test, set the stage.
    engine = create_async_engine(
        make_url(server).set(drivername="postgresql+asyncpg"),
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": CONNECT_TIMEOUT},
    )
    schema = f"t_{secrets.token_hex(6)}"
    try:
        async with _connect(server, engine) as connection:
            await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield with_search_path(server, schema)
        finally:
            async with engine.connect() as connection:
                await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


@asynccontextmanager
async def _connect(server: str, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    if _unreachable:
        _give_up(_unreachable[0])
    try:
        connection = await engine.connect()
    except (OSError, TimeoutError, SQLAlchemyError) as exc:
        _unreachable.append(
            f"PostgreSQL IS NOT REACHABLE at {make_url(server).render_as_string()} "
            f"({type(exc).__name__}: {exc}). The PostgreSQL half of the store tests did "
            "NOT run. Start a server there, or point TEST_POSTGRES_URL at one "
            "(e.g. postgresql://user@host:5432/db); set REQUIRE_POSTGRES=1 to make this fail."
        )
        _give_up(_unreachable[0])
    try:
        yield connection
    finally:
        await connection.close()


def _give_up(reason: str) -> NoReturn:
    if os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def raw_contents(database_url: str) -> bytes:
    """Everything the database holds, as its files or a dump: what a stolen copy shows.

    SQLite: the file and its journal files, byte for byte. PostgreSQL: `pg_dump` of the
    test's schema (data and all), as an operator's backup of the database would hold it.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    parts = urlsplit(database_url)
    options = dict(parse_qsl(parts.query)).get("options", "")
    schema = options.removeprefix("-csearch_path=")
    server = urlunsplit(parts._replace(query=""))
    dumped = subprocess.run(
        ["pg_dump", "--schema", schema, "--dbname", server],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return dumped.stdout
