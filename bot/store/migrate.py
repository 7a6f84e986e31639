"""Alembic, driven from code: `python -m bot db upgrade` and the start-up check.

There is no alembic.ini; the configuration is built here, pointing at the
migrations folder inside the package, so an installed bot can migrate its
database without the source tree.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, select

from bot.store.database import SQLITE_WRITE, engine_for, redacted

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
# Replicas that start together queue on this lock, so only the first migrates.
# Any constant will do; this one spells "bbot" in ASCII.
_ADVISORY_LOCK_KEY = 0x62626F74
UPGRADE_COMMAND = "python -m bot db upgrade"


class SchemaNotReadyError(Exception):
    """The database is not at the schema this code expects; the message says what to do."""


def alembic_config() -> Config:
    config = Config()
    # Config values go through ConfigParser interpolation, where "%" is special.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


async def upgrade(database_url: str) -> None:
    """Bring the database to the newest schema; nothing to do is not an error."""
    engine = engine_for(database_url)
    log.info("upgrading the database schema", extra={"database": redacted(database_url)})
    try:
        async with engine.connect() as connection:
            # On SQLite the write lock, taken up front, is what makes two upgrades take turns.
            await connection.execution_options(**{SQLITE_WRITE: True})
            async with connection.begin():
                if connection.dialect.name == "postgresql":
                    # Released at commit, after the last migration.
                    await connection.execute(select(func.pg_advisory_xact_lock(_ADVISORY_LOCK_KEY)))
                await connection.run_sync(_upgrade_to_head)
    finally:
        await engine.dispose()


async def check_schema(database_url: str) -> None:
    """Raise SchemaNotReadyError unless the database is at the newest schema."""
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(_current_revisions)
    finally:
        await engine.dispose()
    script = ScriptDirectory.from_config(alembic_config())
    heads = set(script.get_heads())
    if current == heads:
        return
    if not current:
        raise SchemaNotReadyError(
            f"The database has no tables yet. Run `{UPGRADE_COMMAND}` to create them."
        )
    known = {revision.revision for revision in script.walk_revisions()}
    if current - known:
        raise SchemaNotReadyError(
            "The database was migrated by a newer version of backup-bot "
            f"(schema {', '.join(sorted(current))}). Run that version, or restore a backup."
        )
    raise SchemaNotReadyError(
        f"The database schema is out of date ({', '.join(sorted(current))}, "
        f"this version needs {', '.join(sorted(heads))}). Run `{UPGRADE_COMMAND}`."
    )


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    # env.py runs the migrations on this connection, inside its transaction.
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current_revisions(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())
