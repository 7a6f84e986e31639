"""Migrations create the schema the models describe, once, and the start-up check."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Index, MetaData, inspect, text

from bot.store import SchemaNotReadyError, Store, check_schema, engine_for, upgrade
from bot.store.migrate import alembic_config
from bot.store.tables import metadata
from tests.store.examples import PRIMARY, watching


async def _schema_diff(database_url: str, target: MetaData) -> list[Any]:
    def compare(connection: Connection) -> list[Any]:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, target))

    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(compare)
    finally:
        await engine.dispose()


async def _scalar(database_url: str, sql: str) -> Any:
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar()
    finally:
        await engine.dispose()


async def _execute(database_url: str, sql: str) -> None:
    engine = engine_for(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql))
    finally:
        await engine.dispose()


async def test_upgrade_creates_every_table(database_url: str) -> None:
    await upgrade(database_url)
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await engine.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_the_migration_matches_the_models(database_url: str) -> None:
    await upgrade(database_url)
    assert await _schema_diff(database_url, metadata) == []


async def test_a_model_the_migration_lacks_would_be_noticed(database_url: str) -> None:
    await upgrade(database_url)
    drifted = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    Index("ix_watches_channel_created_at", drifted.tables["watches"].c.channel)
    diff = await _schema_diff(database_url, drifted)
    assert [entry[0] for entry in diff] == ["add_index"]


async def test_upgrading_again_changes_nothing(database_url: str) -> None:
    await upgrade(database_url)
    store = Store.connect(database_url)
    try:
        await watching(store)
        await upgrade(database_url)
        assert await store.watch("C-ops", PRIMARY.id) is not None
    finally:
        await store.close()
    assert (
        await _scalar(database_url, "SELECT version_num FROM alembic_version")
        == "0004_trustworthy_alerts"
    )


async def test_replicas_upgrading_at_once_migrate_once(database_url: str) -> None:
    # Without the lock they would collide creating the same tables, or hang
    # (Alembic's context is global to the process): the timeout turns a hang into a failure.
    async with asyncio.timeout(60):
        await asyncio.gather(*(upgrade(database_url) for _ in range(3)))
    await check_schema(database_url)
    assert await _scalar(database_url, "SELECT count(*) FROM alembic_version") == 1


async def test_check_schema_refuses_an_empty_database(database_url: str) -> None:
    with pytest.raises(SchemaNotReadyError, match="python -m bot db upgrade"):
        await check_schema(database_url)


async def test_check_schema_accepts_an_upgraded_database(database_url: str) -> None:
    await upgrade(database_url)
    await check_schema(database_url)


async def test_check_schema_refuses_a_schema_from_a_newer_bot(database_url: str) -> None:
    await upgrade(database_url)
    await _execute(database_url, "UPDATE alembic_version SET version_num = '0099_future'")
    with pytest.raises(SchemaNotReadyError, match="newer version"):
        await check_schema(database_url)


async def _migrate(database_url: str, revision: str, *, down: bool = False) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    engine = engine_for(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


async def _check_constraints(database_url: str, table: str) -> dict[str, str]:
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            found = await connection.run_sync(lambda c: inspect(c).get_check_constraints(table))
    finally:
        await engine.dispose()
    return {str(c["name"]): str(c["sqltext"]) for c in found}


_OUTBOX_ROW = (
    "INSERT INTO outbox (channel, kind, alert_ids, state, attempts, next_attempt_at, created_at) "
    "VALUES ('C1', '{kind}', '[]', 'pending', 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
)
_CHECK_FAILED = r"(?i)check"


async def test_0003_widens_the_outbox_kinds_and_its_downgrade_restores_0002_exactly(
    database_url: str,
) -> None:
    """SQLite rebuilds the outbox to change a CHECK: rows and other constraints must survive."""
    await _migrate(database_url, "0002_replicas")
    at_0002 = await _check_constraints(database_url, "outbox")
    await _execute(database_url, _OUTBOX_ROW.format(kind="post"))
    with pytest.raises(Exception, match=_CHECK_FAILED):
        await _execute(database_url, _OUTBOX_ROW.format(kind="note"))

    await upgrade(database_url)
    at_0003 = await _check_constraints(database_url, "outbox")
    (kind_check,) = [name for name, sql in at_0003.items() if "kind" in sql]
    assert kind_check == "ck_outbox_kind" and "note" in at_0003[kind_check]
    # Every other constraint is untouched, name and all.
    assert {n: q for n, q in at_0003.items() if n != kind_check} == {
        n: q for n, q in at_0002.items() if "kind" not in q
    }
    await _execute(database_url, _OUTBOX_ROW.format(kind="note"))
    with pytest.raises(Exception, match=_CHECK_FAILED):
        await _execute(database_url, _OUTBOX_ROW.format(kind="bogus"))
    assert await _scalar(database_url, "SELECT count(*) FROM outbox") == 2
    assert await _schema_diff(database_url, metadata) == []

    await _execute(database_url, "DELETE FROM outbox WHERE kind = 'note'")
    await _migrate(database_url, "0002_replicas", down=True)
    assert await _check_constraints(database_url, "outbox") == at_0002
    assert await _scalar(database_url, "SELECT count(*) FROM outbox") == 1
