"""Migrations create the schema the models describe, once, and the start-up check."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Index, MetaData, inspect, text

from bot.core.alerts import Alert, alert_to_json
from bot.core.anomalies import RECENT_KEPT
from bot.core.watches import WATCHABLE_EVENTS, Event
from bot.store import SchemaNotReadyError, Store, check_schema, engine_for, upgrade
from bot.store.database import JSONText, UTCDateTime
from bot.store.migrate import alembic_config
from bot.store.tables import metadata
from tests.store.examples import DAY, PRIMARY, alert, watching

# The tables as 0003 left them, as far as the 0004 test writes them.
_WATCHES_0003 = sa.table(
    "watches",
    *(sa.column(name) for name in ("channel", "destination_id", "destination_name", "events")),
    *(sa.column(name, sa.Integer()) for name in ("expiry_seconds", "stuck_seconds")),
    sa.column("state"),
    sa.column("started_at", UTCDateTime()),
    sa.column("created_by"),
    sa.column("created_at", UTCDateTime()),
)
_ALERTS_0003 = sa.table(
    "alerts",
    *(sa.column(name) for name in ("channel", "destination_id", "event", "subject")),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
    sa.column("details", JSONText()),
)
_KNOWN_0003 = sa.table(
    "known_backups",
    *(sa.column(name) for name in ("destination_id", "backup_id", "name", "status", "addon_id")),
    *(
        sa.column(name, UTCDateTime())
        for name in ("status_since", "first_seen_at", "created_at", "completed_at")
    ),
    sa.column("size_bytes", sa.BigInteger()),
    sa.column("schedules", JSONText()),
)
_ADDONS_0003 = sa.table(
    "addons",
    *(sa.column(name) for name in ("destination_id", "addon_id", "addon_name", "latest_backup_id")),
    sa.column("schedules", JSONText()),
    sa.column("first_seen_at", UTCDateTime()),
    sa.column("last_created_at", UTCDateTime()),
)


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
        == "0009_newest_backups"
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


async def test_0004_fills_in_the_timeline_and_kept_runs_and_turns_anomaly_on_by_default(
    database_url: str,
) -> None:
    """What 0003 recorded is placed on Northflank's timeline; downgrading undoes it."""
    await _migrate(database_url, "0003_interactive_alerts")
    created = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    due = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    seen = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    failed = alert(Event.FAILED, "b-bad", occurred_at=created)
    missed = Alert(
        Event.MISSED, "missed:addon-db:x", PRIMARY.id, due, expected_at=due, addon=failed.addon
    )
    outage = alert(Event.NORTHFLANK_PROBLEM, "outage:x", occurred_at=seen)
    engine = engine_for(database_url)
    try:
        async with engine.begin() as connection:
            for channel, events in (
                ("C-default", "failed,aborted,expiring,stuck,missed"),
                ("C-chosen", "failed"),
            ):
                await connection.execute(
                    _WATCHES_0003.insert().values(
                        channel=channel,
                        destination_id=PRIMARY.id,
                        destination_name="Primary",
                        events=events,
                        expiry_seconds=3600,
                        stuck_seconds=3600,
                        state="active",
                        started_at=seen,
                        created_by="U1",
                        created_at=seen,
                    )
                )
            for index, (stored, occurred) in enumerate(
                ((failed, seen), (missed, due), (outage, seen))
            ):
                await connection.execute(
                    _ALERTS_0003.insert().values(
                        channel="C-ops",
                        destination_id=PRIMARY.id,
                        event=stored.event.value,
                        subject=f"{stored.subject}-{index}",
                        occurred_at=occurred,
                        created_at=seen,
                        details=alert_to_json(stored),
                    )
                )
            for index in range(35):
                at = created + timedelta(days=index)
                await connection.execute(
                    _KNOWN_0003.insert().values(
                        destination_id=PRIMARY.id,
                        backup_id=f"c{index}",
                        name=f"nightly {index}",
                        status="completed",
                        status_since=at,
                        first_seen_at=at,
                        created_at=at,
                        completed_at=at + timedelta(minutes=5),
                        size_bytes=1000 + index,
                        addon_id="addon-db",
                        schedules=[],
                    )
                )
            await connection.execute(
                _ADDONS_0003.insert().values(
                    destination_id=PRIMARY.id,
                    addon_id="addon-db",
                    addon_name="db",
                    schedules=[],
                    first_seen_at=created,
                    last_created_at=created,
                    latest_backup_id="c0",
                )
            )
    finally:
        await engine.dispose()

    await upgrade(database_url)
    assert await _schema_diff(database_url, metadata) == []
    store = Store.connect(database_url)
    try:
        ledger = await store.ledger("C-ops", PRIMARY.id, since=seen)
        began = {entry.event: entry.began_at for entry in ledger.open_problems}
        assert began == {
            Event.FAILED: created,  # the failed backup's createdAt
            Event.MISSED: due,  # the run that did not happen
            Event.NORTHFLANK_PROBLEM: seen,
        }
        (addon,) = (
            await store.destination_state(PRIMARY.id, seen, lookback=DAY, horizon=DAY)
        ).addons
        kept = addon.recent_completed
        assert [run.backup_id for run in kept] == [f"c{i}" for i in range(35 - RECENT_KEPT, 35)]
        assert kept[-1].size_bytes == 1034 and kept[-1].duration == timedelta(minutes=5)
        # Every event there was (the default) gains anomaly; a choice stays a choice.
        (default,) = await store.channel_watches("C-default")
        (chosen,) = await store.channel_watches("C-chosen")
        assert default.settings.events == frozenset(WATCHABLE_EVENTS)
        assert chosen.settings.events == {Event.FAILED}
    finally:
        await store.close()

    await _migrate(database_url, "0003_interactive_alerts", down=True)
    assert (
        await _scalar(database_url, "SELECT events FROM watches WHERE channel = 'C-default'")
        == "failed,aborted,expiring,stuck,missed"
    )


async def test_0005_gives_every_watch_its_weekly_report_and_downgrades_cleanly(
    database_url: str,
) -> None:
    await _migrate(database_url, "0004_trustworthy_alerts")
    seen = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    engine = engine_for(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                _WATCHES_0003.insert().values(
                    channel="C-ops",
                    destination_id=PRIMARY.id,
                    destination_name="Primary",
                    events="failed",
                    expiry_seconds=3600,
                    stuck_seconds=3600,
                    state="active",
                    started_at=seen,
                    created_by="U1",
                    created_at=seen,
                )
            )
    finally:
        await engine.dispose()
    await _migrate(database_url, "0005_health_reports")
    store = Store.connect(database_url)
    try:
        watch = await store.watch("C-ops", PRIMARY.id)
        assert watch is not None
        assert watch.settings.weekly_report is True and watch.report_sent_for is None
    finally:
        await store.close()
    await _migrate(database_url, "0004_trustworthy_alerts", down=True)
    assert await _scalar(database_url, "SELECT count(*) FROM watches") == 1
    assert await _scalar(database_url, "SELECT version_num FROM alembic_version") == (
        "0004_trustworthy_alerts"
    )
