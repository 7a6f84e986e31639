"""Northflank connections: tokens stored encrypted, and the connection each channel uses.

The token goes in and out of this module only through the vault
(bot/store/encryption.py): what rests in the table is a Fernet token. A
store without a vault (ENCRYPTION_KEY unset) can list connections but can
neither add one nor read a token back, and says so naming ENCRYPTION_KEY.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.audit import AuditEntry
from bot.core.connections import (
    MAX_CONNECTIONS,
    Connection,
    Disconnected,
    destination_key,
    split_destination_key,
)
from bot.core.messages import DisconnectedNote, note_to_json
from bot.core.tenancy import SINGLE
from bot.store.audit import add_audit
from bot.store.encryption import EncryptionKeyError, TokenVault
from bot.store.outbox import enqueue
from bot.store.records import OutboxKind
from bot.store.sessions import UsesSessions
from bot.store.tables import (
    AddonRow,
    ChannelConnectionRow,
    ConnectionRow,
    KnownBackupRow,
    PollStatusRow,
    WatchRow,
)
from bot.store.tenants import in_workspace

NO_KEY = (
    "ENCRYPTION_KEY is not set, and Northflank connections are stored encrypted: "
    "set it to a key from `python -m bot keys generate`"
)


class ConnectionNameTakenError(Exception):
    """A connection of that name exists already."""


class TooManyConnectionsError(Exception):
    """MAX_CONNECTIONS are stored already."""


class ConnectionQueries(UsesSessions):
    _vault: TokenVault | None

    async def add_connection(
        self,
        name: str,
        token: str,
        *,
        northflank_team_id: str | None,
        created_by: str,
        now: datetime,
        team: str = SINGLE,
        audit: AuditEntry | None = None,
    ) -> Connection:
        vault = self._require_vault()
        async with self._sessions.write() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(ConnectionRow)
                .where(ConnectionRow.slack_team == team)
            )
            if (count or 0) >= MAX_CONNECTIONS:
                raise TooManyConnectionsError
            row = ConnectionRow(
                slack_team=team,
                name=name,
                token_encrypted=vault.encrypt(token),
                northflank_team_id=northflank_team_id,
                created_by=created_by,
                created_at=now,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                raise ConnectionNameTakenError(name) from None
            if audit is not None:
                add_audit(session, audit)
            return _connection(row)

    async def connections(self, *, team: str) -> tuple[Connection, ...]:
        """The connections of one workspace, by name."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(ConnectionRow)
                .where(ConnectionRow.slack_team == team)
                .order_by(ConnectionRow.name)
            )
            return tuple(_connection(row) for row in rows)

    async def connection(self, connection_id: int) -> Connection | None:
        async with self._sessions.read() as session:
            row = await session.get(ConnectionRow, connection_id)
            return _connection(row) if row is not None else None

    async def connection_token(self, connection_id: int) -> str | None:
        """The connection's API token in clear, or None when it is gone."""
        vault = self._require_vault()
        async with self._sessions.read() as session:
            row = await session.get(ConnectionRow, connection_id)
            return vault.decrypt(row.token_encrypted) if row is not None else None

    async def check_stored_tokens(self) -> int:
        """Raise EncryptionKeyError unless every stored token decrypts; how many there are.

        At start-up: a missing or wrong key must stop the bot with one clear
        line, not surface later as every poll of a connection failing.
        """
        async with self._sessions.read() as session:
            stored = list(await session.scalars(select(ConnectionRow.token_encrypted)))
        if stored:
            vault = self._require_vault()
            for token in stored:
                vault.decrypt(token)
        return len(stored)

    async def rotate_stored_tokens(self) -> int:
        """Re-encrypt every stored token with the newest key, in one transaction."""
        vault = self._require_vault()
        async with self._sessions.write() as session:
            rows = list(await session.scalars(select(ConnectionRow)))
            for row in rows:
                row.token_encrypted = vault.rotate(row.token_encrypted)
            return len(rows)

    async def channel_connection(self, channel: str) -> int | None:
        async with self._sessions.read() as session:
            chosen: int | None = await session.scalar(
                select(ChannelConnectionRow.connection_id).where(
                    ChannelConnectionRow.channel == channel
                )
            )
            return chosen

    async def use_connection(
        self, channel: str, connection_id: int, *, who: str, now: datetime, audit: AuditEntry
    ) -> None:
        async with self._sessions.write() as session:
            statement = self._sessions.insert(ChannelConnectionRow.__table__).values(
                channel=channel, connection_id=connection_id, chosen_by=who, chosen_at=now
            )
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["channel"],
                    set_={"connection_id": connection_id, "chosen_by": who, "chosen_at": now},
                )
            )
            add_audit(session, audit)

    async def channels_by_connection(self, *, team: str) -> dict[int, tuple[str, ...]]:
        """The workspace's channels that chose each connection, and those watching through it."""
        found: dict[int, set[str]] = defaultdict(set)
        async with self._sessions.read() as session:
            for channel, connection_id in await session.execute(
                select(ChannelConnectionRow.channel, ChannelConnectionRow.connection_id).where(
                    in_workspace(ChannelConnectionRow.channel, team)
                )
            ):
                found[connection_id].add(channel)
            for row in await session.execute(
                select(WatchRow.channel, WatchRow.destination_id).where(
                    in_workspace(WatchRow.channel, team)
                )
            ):
                found[split_destination_key(row.destination_id)[1]].add(row.channel)
        return {key: tuple(sorted(channels)) for key, channels in found.items()}

    async def remove_connection(
        self, connection_id: int, *, who: str, now: datetime, audit: AuditEntry
    ) -> Disconnected | None:
        """Delete the connection, its channels' choices, its watches and what was read
        through it, and queue a note to each channel that watched through it."""
        async with self._sessions.write() as session:
            row = await session.get(ConnectionRow, connection_id)
            if row is None:
                return None
            connection = _connection(row)
            through = read_through(WatchRow.destination_id, connection_id)
            watches = list(await session.scalars(select(WatchRow).where(through)))
            stopped: dict[str, list[str]] = defaultdict(list)
            for watch in watches:
                stopped[watch.channel].append(watch.destination_name)
            chose = set(
                await session.scalars(
                    select(ChannelConnectionRow.channel).where(
                        ChannelConnectionRow.connection_id == connection_id
                    )
                )
            )
            await session.execute(delete(WatchRow).where(through))
            await forget_what_was_read(session, connection_id)
            await session.execute(
                delete(ChannelConnectionRow).where(
                    ChannelConnectionRow.connection_id == connection_id
                )
            )
            await session.delete(row)
            channels = sorted(chose | set(stopped))
            for channel in channels:
                note = DisconnectedNote(connection.name, tuple(sorted(stopped[channel])), who)
                await enqueue(
                    session, channel, OutboxKind.NOTE, [], None, now, payload=note_to_json(note)
                )
            add_audit(session, audit)
            return Disconnected(connection, tuple(channels), len(watches))

    def _require_vault(self) -> TokenVault:
        if self._vault is None:
            raise EncryptionKeyError(NO_KEY)
        return self._vault


def read_through(
    destination_id: InstrumentedAttribute[str], connection_id: int
) -> ColumnElement[bool]:
    """Rows of destinations read through one stored connection (their keys end `@N`)."""
    return destination_id.endswith(destination_key("", connection_id), autoescape=True)


async def forget_what_was_read(session: AsyncSession, connection_id: int) -> None:
    """The backups, addon summaries and poll state of a connection that is going."""
    for table in (KnownBackupRow, AddonRow, PollStatusRow):
        await session.execute(
            delete(table).where(read_through(table.destination_id, connection_id))
        )


def _connection(row: ConnectionRow) -> Connection:
    return Connection(
        slack_team=row.slack_team,
        id=row.id,
        name=row.name,
        northflank_team_id=row.northflank_team_id,
        created_by=row.created_by,
        created_at=row.created_at,
    )
