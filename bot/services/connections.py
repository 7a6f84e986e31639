"""Every Northflank token the bot holds, each with its own client, budget and cache.

The environment's token (NORTHFLANK_API_TOKEN) is connection 0; `/backups
connect` adds more (bot/services/connecting.py). Each connection gets its own
`NorthflankClient`, so its own rate-limit reading, and its own `BackupLister`,
so its own listing cache: one team's exhausted budget, revoked token or
outage is that connection's alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.connections import (
    ENVIRONMENT,
    ENVIRONMENT_NAME,
    chosen_connection,
    split_destination_key,
)
from bot.core.tenancy import SINGLE, team_of
from bot.northflank.client import NorthflankClient
from bot.services.listing import BackupLister
from bot.store import Store

# A client for a token and its optional Northflank team id; the caller closes it.
ClientFactory = Callable[[str, str | None], NorthflankClient]


class NoConnection(Exception):
    """The channel has no connection to use: several are stored and it chose none,
    or the one it chose is gone and there is no environment token to fall back on."""

    def __init__(self, names: tuple[str, ...]) -> None:
        super().__init__("this channel must choose a Northflank connection")
        self.names = names


@dataclass(frozen=True, slots=True)
class NorthflankAccess:
    """One connection, ready to use."""

    connection_id: int
    name: str
    client: NorthflankClient
    lister: BackupLister

    def owns(self, key: str) -> bool:
        """Whether a destination key was read through this connection."""
        return split_destination_key(key)[1] == self.connection_id


class NorthflankConnections:
    """Opens each connection's client once, when first needed, and keeps it."""

    def __init__(
        self,
        store: Store | None,
        *,
        environment: NorthflankClient | None,
        client_for_token: ClientFactory | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        self._client_for_token = client_for_token
        # Told each stored token as it is read, so that logging can redact it.
        self._on_token = on_token
        self._open: dict[int, NorthflankAccess] = {}
        if environment is not None:
            self._open[ENVIRONMENT] = _access(ENVIRONMENT, ENVIRONMENT_NAME, environment)
        self.has_environment = environment is not None
        self._opening = asyncio.Lock()

    @property
    def environment(self) -> NorthflankAccess | None:
        return self._open.get(ENVIRONMENT)

    async def access(self, connection_id: int) -> NorthflankAccess | None:
        """The connection's access, or None when it does not exist (any more)."""
        known = self._open.get(connection_id)
        if known is not None or connection_id == ENVIRONMENT:
            return known
        if self._store is None or self._client_for_token is None:
            return None
        async with self._opening:
            known = self._open.get(connection_id)
            if known is not None:
                return known
            stored = await self._store.connection(connection_id)
            token = await self._store.connection_token(connection_id) if stored else None
            if stored is None or token is None:
                return None
            if self._on_token is not None:
                self._on_token(token)
            client = self._client_for_token(token, stored.northflank_team_id)
            opened = _access(connection_id, stored.name, client)
            self._open[connection_id] = opened
            return opened

    async def for_key(self, key: str, *, team: str | None = None) -> NorthflankAccess | None:
        """The connection a destination key was read through; with `team`, only if it
        belongs to that workspace (a key copied from another workspace finds nothing)."""
        connection_id = split_destination_key(key)[1]
        if team is not None and not await self._belongs(connection_id, team):
            return None
        return await self.access(connection_id)

    async def for_channel(self, channel: str) -> NorthflankAccess | None:
        """The connection the channel's commands go through; None: it must choose one.

        `channel` is a channel key: its workspace's connections are the only ones
        it can reach, and the environment's token serves a single workspace only.
        """
        team = team_of(channel)
        environment = self.has_environment and team == SINGLE
        if self._store is None:
            return self.environment if environment else None
        stored = await self._store.connections(team=team)
        if not stored:
            # The single-team path: no query beyond this one.
            return self.environment if environment else None
        chosen = await self._store.channel_connection(channel)
        connection_id = chosen_connection(chosen, stored, environment=environment)
        return None if connection_id is None else await self.access(connection_id)

    async def _belongs(self, connection_id: int, team: str) -> bool:
        if connection_id == ENVIRONMENT:
            return team == SINGLE
        stored = await self._store.connection(connection_id) if self._store else None
        return stored is not None and stored.slack_team == team

    async def require(self, channel: str) -> NorthflankAccess:
        """`for_channel`, raising NoConnection (which the answer explains) for None."""
        access = await self.for_channel(channel)
        if access is None:
            team = team_of(channel)
            stored = await self._store.connections(team=team) if self._store is not None else ()
            raise NoConnection(tuple(c.name for c in stored))
        return access

    def opened(self) -> list[NorthflankAccess]:
        """The connections opened so far (their budgets are known only once used)."""
        return list(self._open.values())

    async def forget(self, connection_id: int) -> None:
        """A connection was removed: close its client."""
        access = self._open.pop(connection_id, None)
        if access is not None and connection_id != ENVIRONMENT:
            await access.client.aclose()

    async def aclose(self, *, include_environment: bool = True) -> None:
        """Close every client opened here (and the environment's, unless its owner will)."""
        for connection_id, access in list(self._open.items()):
            if connection_id != ENVIRONMENT or include_environment:
                await access.client.aclose()
                del self._open[connection_id]


def _access(connection_id: int, name: str, client: NorthflankClient) -> NorthflankAccess:
    return NorthflankAccess(
        connection_id, name, client, BackupLister(client, connection_id=connection_id)
    )
