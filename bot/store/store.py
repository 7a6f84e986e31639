"""The one Store the rest of the bot talks to; each concern's queries live in its own module."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.audit import AuditQueries
from bot.store.backups import BackupQueries
from bot.store.connections import ConnectionQueries
from bot.store.database import engine_for
from bot.store.encryption import TokenVault
from bot.store.followups import FollowupQueries
from bot.store.interactions import InteractionQueries
from bot.store.jobs import JobQueries
from bot.store.leases import LeaseQueries
from bot.store.ledger import LedgerQueries
from bot.store.outbox import OutboxQueries
from bot.store.poll_start import PollStartQueries
from bot.store.polling import PollQueries
from bot.store.replicas import ReplicaQueries
from bot.store.retention import RetentionQueries
from bot.store.sessions import Sessions
from bot.store.watches import WatchQueries
from bot.store.workspaces import WorkspaceQueries


class Store(
    WatchQueries,
    PollQueries,
    PollStartQueries,
    LeaseQueries,
    BackupQueries,
    LedgerQueries,
    OutboxQueries,
    ReplicaQueries,
    InteractionQueries,
    FollowupQueries,
    AuditQueries,
    JobQueries,
    RetentionQueries,
    ConnectionQueries,
    WorkspaceQueries,
):
    """Every read and write the bot makes. Each write is a transaction of its own."""

    def __init__(
        self,
        engine: AsyncEngine,
        sessions: Sessions,
        *,
        owns_engine: bool,
        vault: TokenVault | None = None,
    ) -> None:
        self._engine = engine
        self._sessions = sessions
        self._owns_engine = owns_engine
        # Encrypts Northflank tokens at rest (ENCRYPTION_KEY); None: none can be stored.
        self._vault = vault

    @classmethod
    def connect(cls, database_url: str, *, vault: TokenVault | None = None) -> Store:
        """A store on DATABASE_URL. Connects lazily: nothing is opened until the first call."""
        engine = engine_for(database_url)
        return cls(engine, Sessions.for_engine(engine), owns_engine=True, vault=vault)

    @property
    def engine(self) -> AsyncEngine:
        """For the Slack SDK's installation store, which runs its own queries on our database."""
        return self._engine

    async def ping(self) -> None:
        """A round trip to the database (`/healthz`); raises when it cannot be reached."""
        async with self._engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    @contextlib.asynccontextmanager
    async def dry_run(self) -> AsyncIterator[Store]:
        """A store whose changes are all undone at the end (`python -m bot check`).

        Every call runs on one connection inside one outer transaction, so
        later calls see what earlier ones wrote, and the rollback at exit
        takes it all back.
        """
        async with self._engine.connect() as connection:
            transaction = await connection.begin()
            try:
                yield Store(
                    self._engine,
                    Sessions.for_dry_run(connection),
                    owns_engine=False,
                    vault=self._vault,
                )
            finally:
                await transaction.rollback()
