"""Alembic's entry point: run the migrations on the connection `bot.store.migrate` lends.

`upgrade()` opens an async connection, takes the lock that keeps replicas
from migrating together, and calls Alembic through `connection.run_sync`,
which is how a connection reaches this file. Run on its own (the `alembic`
command with `-x url=...`), it makes an async engine of its own.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from bot.store.database import engine_for
from bot.store.tables import metadata


def run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


async def run_on_own_engine(database_url: str) -> None:
    engine = engine_for(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


def main() -> None:
    if context.is_offline_mode():
        raise SystemExit("backup-bot's migrations run against a database, not as SQL scripts")
    lent = context.config.attributes.get("connection")
    if lent is not None:
        run_migrations(lent)
        return
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit("pass the database URL: alembic -x url=sqlite:///path ...")
    asyncio.run(run_on_own_engine(url))


main()
