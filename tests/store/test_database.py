"""DATABASE_URL -> async engine, SQLite's connection settings, and UTC datetimes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, TypeDecorator, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from bot.store import Store, engine_for
from bot.store.database import UTCDateTime, async_target, redacted
from bot.store.sessions import Sessions
from tests.databases import postgres_schema


def test_sqlite_urls_get_the_async_driver() -> None:
    target = async_target("sqlite:///data/backup-bot.db")
    assert target.url.drivername == "sqlite+aiosqlite"
    assert target.url.database == "data/backup-bot.db"
    assert target.connect_args == {}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://bot:pw@db.example:6543/backups",
        "postgres://bot:pw@db.example:6543/backups",
        "postgresql+asyncpg://bot:pw@db.example:6543/backups",
    ],
)
def test_postgres_urls_get_the_async_driver(url: str) -> None:
    target = async_target(url)
    assert target.url.drivername == "postgresql+asyncpg"
    assert (target.url.host, target.url.port, target.url.database) == (
        "db.example",
        6543,
        "backups",
    )
    assert target.url.username == "bot" and target.url.password == "pw"


@pytest.mark.parametrize(
    "options",
    ["-csearch_path%3Dt_abc", "-c%20search_path%3Dt_abc", "-c+search_path%3Dt_abc"],
)
def test_libpq_search_path_option_becomes_an_asyncpg_server_setting(options: str) -> None:
    target = async_target(f"postgresql://bot@db/backups?options={options}")
    assert target.connect_args == {"server_settings": {"search_path": "t_abc"}}
    # asyncpg.connect() has no `options` keyword: it must not be passed on.
    assert "options" not in target.url.query


def test_several_libpq_settings_are_all_passed_on() -> None:
    target = async_target(
        "postgresql://bot@db/backups?options=-csearch_path%3Dbot%20-cstatement_timeout%3D5s"
    )
    assert target.connect_args == {
        "server_settings": {"search_path": "bot", "statement_timeout": "5s"}
    }


def test_libpq_options_other_than_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="options="):
        async_target("postgresql://bot@db/backups?options=-x")


def test_libpq_sslmode_becomes_asyncpg_ssl() -> None:
    target = async_target("postgresql://bot@db/backups?sslmode=require")
    assert target.url.query == {"ssl": "require"}


def test_an_unknown_scheme_is_refused_without_showing_the_password() -> None:
    with pytest.raises(ValueError, match="unsupported scheme 'mysql'") as caught:
        engine_for("mysql://root:hunter2@db.example/backups")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    "url", ["postgresql://root:hunter2@db.example:port/backups", "hunter2 is not a URL"]
)
def test_an_unreadable_url_is_refused_without_showing_it(url: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL") as caught:
        async_target(url)
    assert "hunter2" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_redacted_urls_hide_the_password() -> None:
    shown = redacted("postgresql://bot:hunter2@db.example/backups")
    assert "hunter2" not in shown and "db.example" in shown


async def test_a_relative_sqlite_path_gets_its_folder_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    engine = engine_for("sqlite:///nested/deeper/bot.db")
    try:
        assert (tmp_path / "nested" / "deeper").is_dir()
        async with engine.connect() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        await engine.dispose()
    assert (tmp_path / "nested" / "deeper" / "bot.db").is_file()


async def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        async with engine.connect() as connection:
            pragmas = [
                (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys")
            ]
    finally:
        await engine.dispose()
    assert pragmas == ["wal", 5000, 1]


async def test_postgres_connections_use_the_search_path_from_the_url() -> None:
    async with postgres_schema() as url:
        engine = engine_for(url)
        try:
            async with engine.connect() as connection:
                search_path = (await connection.execute(text("SHOW search_path"))).scalar()
        finally:
            await engine.dispose()
    assert search_path == async_target(url).connect_args["server_settings"]["search_path"]


async def _terminate_the_pools_connection(engine: AsyncEngine) -> None:
    """What a database restart or a proxy's idle timeout does to a pooled connection."""
    async with engine.connect() as connection:
        pid = await connection.scalar(text("SELECT pg_backend_pid()"))
    killer = create_async_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        async with killer.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await killer.dispose()


@asynccontextmanager
async def _postgres_engine(*, ping_after_idle: float) -> AsyncIterator[AsyncEngine]:
    async with postgres_schema() as url:
        engine = engine_for(url, ping_after_idle=ping_after_idle)
        try:
            yield engine
        finally:
            await engine.dispose()


async def test_a_pooled_connection_idle_for_a_while_is_checked_and_replaced_if_dead() -> None:
    async with _postgres_engine(ping_after_idle=0.0) as engine:
        await _terminate_the_pools_connection(engine)
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1


async def test_a_connection_used_moments_ago_is_not_checked_and_its_death_costs_one_error() -> None:
    # The trade for sparing every checkout a check: the statement meets the dead
    # connection itself, fails once, and SQLAlchemy discards the pool's older ones.
    async with _postgres_engine(ping_after_idle=3600.0) as engine:
        await _terminate_the_pools_connection(engine)
        with pytest.raises(DBAPIError) as failed:
            async with engine.connect() as connection:
                await connection.scalar(text("SELECT 1"))
        assert failed.value.connection_invalidated
        async with engine.connect() as connection:
            assert await connection.scalar(text("SELECT 1")) == 1


async def test_datetimes_come_back_as_aware_utc(store: Store) -> None:
    paris = timezone(timedelta(hours=1))
    sent = datetime(2025, 3, 1, 13, 30, 15, 123456, tzinfo=paris)
    status = await store.record_poll_success("dest", sent)
    (read,) = (await store.poll_statuses(["dest"])).values()
    for value in (status.last_poll_at, read.last_poll_at):
        assert value == sent
        assert value is not None and value.tzinfo is UTC
        assert value.hour == 12  # the same instant, in UTC


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await store.record_poll_success("dest", datetime(2025, 3, 1, 12, 0))  # naive


@pytest.mark.parametrize(
    "sent",
    [
        datetime(2025, 3, 1, 13, 30, 15, 123456, tzinfo=UTC),
        datetime(2025, 3, 1, 13, 30, 15, tzinfo=UTC),  # no microseconds: still written
        datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))),  # the day before
        datetime(2025, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
        datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        None,
    ],
)
@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql+asyncpg"])
def test_datetimes_are_written_as_sqlalchemy_itself_writes_them_in_utc(
    sent: datetime | None, dialect_name: str
) -> None:
    dialect = make_url(f"{dialect_name}://").get_dialect()()
    # UTCDateTime's own one-step bind processor against SQLAlchemy's composition of
    # process_bind_param and the dialect's DateTime formatting, which it replaces.
    ours = UTCDateTime().bind_processor(dialect)
    impl = UTCDateTime.impl.dialect_impl(dialect).bind_processor(dialect)
    theirs: Any = UTCDateTime().process_bind_param(sent, dialect)
    if impl is not None:
        theirs = impl(theirs)
    assert ours(sent) == theirs
    assert type(ours(sent)) is type(theirs)


@pytest.mark.parametrize(
    ("dialect_name", "read"),
    [
        ("postgresql+asyncpg", datetime(2025, 3, 1, 13, 30, 15, 123456, tzinfo=UTC)),
        ("postgresql+asyncpg", datetime(2025, 3, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))),
        ("postgresql+asyncpg", datetime(2025, 3, 1, 13, 30)),
        ("postgresql+asyncpg", None),
        ("sqlite", "2025-03-01 13:30:15.123456"),
        ("sqlite", "2025-03-01 13:30:15.000000"),
        ("sqlite", None),
    ],
)
def test_datetimes_are_read_as_sqlalchemy_itself_reads_them_in_utc(
    dialect_name: str, read: Any
) -> None:
    dialect = make_url(f"{dialect_name}://").get_dialect()()
    # UTCDateTime's own one-step result processor against SQLAlchemy's composition
    # of the dialect's DateTime processor and process_result_value.
    # (Each as SQLAlchemy asks for it: from the type as adapted to the dialect.)
    adapted: Any = UTCDateTime().dialect_impl(dialect)
    ours = adapted.result_processor(dialect, None)
    theirs = TypeDecorator.result_processor(adapted, dialect, None)
    assert ours is not None and theirs is not None
    value = ours(read)
    assert value == theirs(read)
    assert (value is None) if read is None else (value.tzinfo is UTC)


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_statement_rendered_once_must_take_every_value_from_its_rows(dialect: str) -> None:
    # A column default is filled in by SQLAlchemy's own execution path, which the
    # rendered text skips: such a statement is refused rather than run without it.
    table = Table(
        "with_default",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("note", String, default="none"),
    )
    sessions = Sessions(async_sessionmaker(), dialect)

    def upsert(s: Sessions) -> Any:
        return s.insert(table).on_conflict_do_nothing()

    with pytest.raises(ValueError, match="cannot render once"):
        sessions.rendered_once(upsert, ["id"])
    rendered = sessions.rendered_once(upsert, ["id", "note"])
    assert "ON CONFLICT DO NOTHING" in rendered.text
    assert sessions.rendered_once(upsert, ["id", "note"]) is rendered
