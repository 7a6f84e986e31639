"""`/backups connect`, `connections`, `use NAME` and `disconnect NAME`: the use cases.

A token is checked against Northflank before anything is saved (GET /v1/auth,
then its destinations), and each problem is answered on the field it belongs
to, so the modal can show it there. Who may do what: connecting and
disconnecting are BOT_ADMINS' alone (a token is a credential to a whole
team); choosing a channel's connection is configuration, gated like `watch`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from bot.core.audit import AuditAction, AuditOutcome, Requester
from bot.core.connections import (
    ENVIRONMENT,
    ENVIRONMENT_NAME,
    Connection,
    ConnectionNameError,
    ConnectionUse,
    Disconnected,
    valid_connection_name,
)
from bot.core.failures import FailureKind
from bot.core.tenancy import SINGLE, team_of
from bot.northflank.errors import NorthflankError
from bot.services.admins import AdminDirectory, admin_directory
from bot.services.connections import ClientFactory, NorthflankConnections
from bot.store import Store
from bot.store.connections import ConnectionNameTakenError, TooManyConnectionsError
from bot.store.encryption import EncryptionKeyError

log = logging.getLogger(__name__)

# The fields of the connect modal, which errors are reported against.
NAME, TOKEN, TEAM = "name", "token", "team"
MAX_TOKEN_LENGTH = 2000
MAX_TEAM_LENGTH = 100


@dataclass(frozen=True, slots=True)
class Connected:
    connection: Connection
    destinations: int
    described: str  # what Northflank says the token is (no secret in it)


@dataclass(frozen=True, slots=True)
class ConnectRefused:
    """Nothing was saved; a plain-text message per field that needs changing."""

    errors: dict[str, str]


@dataclass(frozen=True, slots=True)
class NotAllowed:
    """The requester may not do this; `admins` says who may (empty: nobody yet)."""

    admins: frozenset[str]


@dataclass(frozen=True, slots=True)
class UnknownConnection:
    name: str
    known: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Using:
    name: str


@dataclass(frozen=True, slots=True)
class ConnectionList:
    rows: tuple[ConnectionUse, ...]
    # The channel asking, and the connection it uses (None: it must choose).
    using: int | None


ConnectOutcome = Connected | ConnectRefused | NotAllowed
UseOutcome = Using | UnknownConnection | NotAllowed
DisconnectOutcome = Disconnected | UnknownConnection | NotAllowed


class ConnectionAdmin:
    def __init__(
        self,
        store: Store,
        connections: NorthflankConnections,
        client_for_token: ClientFactory,
        *,
        admins: AdminDirectory | Collection[str],
        clock: Callable[[], datetime],
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self._store = store
        # Told each token submitted, before anything can log it, so that logging redacts it.
        self._on_token = on_token
        self._connections = connections
        self._client_for_token = client_for_token
        self._admins = admin_directory(admins)
        self._clock = clock

    async def may_connect(self, who: Requester) -> bool:
        return who.user_id in await self._admins.of(who.channel_id)

    async def refusal(self, who: Requester) -> NotAllowed:
        return NotAllowed(await self._admins.of(who.channel_id))

    async def connect(
        self, name_text: str, token_text: str, team_text: str, who: Requester
    ) -> ConnectOutcome:
        if not await self.may_connect(who):
            await self._refused(who, AuditAction.CONNECT, name_text)
            return await self.refusal(who)
        errors: dict[str, str] = {}
        try:
            name = valid_connection_name(name_text)
        except ConnectionNameError as exc:
            errors[NAME] = str(exc)
        token = token_text.strip()
        if token and self._on_token is not None:
            self._on_token(token)
        if not token or len(token) > MAX_TOKEN_LENGTH or any(c.isspace() for c in token):
            errors[TOKEN] = "Paste the API token from Northflank's team settings (one word)."
        team = team_text.strip() or None
        if team is not None and (len(team) > MAX_TEAM_LENGTH or any(c.isspace() for c in team)):
            errors[TEAM] = "A team id is one word, like `acme-prod`, or leave it empty."
        if errors:
            return ConnectRefused(errors)
        checked = await self._check(token, team)
        if isinstance(checked, ConnectRefused):
            return checked
        described, count = checked
        now = self._clock()
        try:
            connection = await self._store.add_connection(
                name,
                token,
                northflank_team_id=team,
                created_by=who.user_id,
                now=now,
                team=team_of(who.channel_id),
                audit=who.audit(AuditAction.CONNECT, name, now, detail=described),
            )
        except ConnectionNameTakenError:
            return ConnectRefused({NAME: f"A connection is called `{name}` already."})
        except TooManyConnectionsError:
            return ConnectRefused({NAME: "This bot holds as many connections as it may (20)."})
        except EncryptionKeyError:
            log.error("a connection could not be saved: ENCRYPTION_KEY is not set")
            return ConnectRefused(
                {TOKEN: "The bot cannot store tokens: its operator must set ENCRYPTION_KEY."}
            )
        return Connected(connection, count, described)

    async def overview(self, channel: str) -> ConnectionList:
        """The connections of the channel's workspace (the environment's for a single one)."""
        workspace = team_of(channel)
        stored = await self._store.connections(team=workspace)
        channels = await self._store.channels_by_connection(team=workspace)
        rows: list[ConnectionUse] = []
        environment = self._connections.environment
        if environment is not None and workspace == SINGLE:
            rows.append(await self._use_of(environment.connection_id, None, channels))
        for connection in stored:
            rows.append(await self._use_of(connection.id, connection, channels))
        using = await self._connections.for_channel(channel)
        return ConnectionList(tuple(rows), using.connection_id if using else None)

    async def use(self, name_text: str, who: Requester) -> UseOutcome:
        admins = await self._admins.of(who.channel_id)
        if admins and who.user_id not in admins:
            await self._refused(who, AuditAction.USE, name_text)
            return NotAllowed(admins)
        found = await self._find(name_text, team_of(who.channel_id))
        if not isinstance(found, int):
            return found
        now = self._clock()
        name = name_text.strip().lower()
        await self._store.use_connection(
            who.channel_id,
            found,
            who=who.user_id,
            now=now,
            audit=who.audit(AuditAction.USE, name, now),
        )
        return Using(name)

    async def disconnect(self, name_text: str, who: Requester) -> DisconnectOutcome:
        if not await self.may_connect(who):
            await self._refused(who, AuditAction.DISCONNECT, name_text)
            return await self.refusal(who)
        workspace = team_of(who.channel_id)
        found = await self._find(name_text, workspace, stored_only=True)
        if not isinstance(found, int):
            return found
        now = self._clock()
        done = await self._store.remove_connection(
            found,
            who=who.user_id,
            now=now,
            audit=who.audit(AuditAction.DISCONNECT, name_text.strip().lower(), now),
        )
        if done is None:  # removed meanwhile, by someone else
            return UnknownConnection(name_text, await self._names(workspace))
        await self._connections.forget(found)
        return done

    # ----- helpers ---------------------------------------------------------------------

    async def _check(self, token: str, team: str | None) -> tuple[str, int] | ConnectRefused:
        """What Northflank says the token is, and how many destinations it sees."""
        client = self._client_for_token(token, team)
        try:
            described = await client.describe_token()
            count = len(await client.list_destinations())
        except NorthflankError as exc:
            return ConnectRefused(_field_error(exc, team))
        finally:
            await asyncio.shield(client.aclose())
        return described, count

    async def _find(
        self, name_text: str, team: str, *, stored_only: bool = False
    ) -> int | UnknownConnection:
        """A connection of workspace `team` by name: no other workspace's is ever found."""
        name = name_text.strip().lower()
        environment = self._connections.has_environment and team == SINGLE
        if name == ENVIRONMENT_NAME and environment and not stored_only:
            return ENVIRONMENT
        for connection in await self._store.connections(team=team):
            if connection.name == name:
                return connection.id
        return UnknownConnection(name_text, await self._names(team))

    async def _names(self, team: str) -> tuple[str, ...]:
        return tuple(c.name for c in await self._store.connections(team=team))

    async def _use_of(
        self,
        connection_id: int,
        connection: Connection | None,
        channels: dict[int, tuple[str, ...]],
    ) -> ConnectionUse:
        access = await self._connections.access(connection_id)
        count: int | None = None
        limit = remaining = None
        if access is not None:
            try:
                count = len(await access.lister.destinations())
            except NorthflankError as exc:
                log.info("a connection's destinations could not be counted: %s", exc)
            state = access.client.rate_limit
            limit, remaining = state.limit, state.remaining
        shown = connection or Connection(
            ENVIRONMENT, ENVIRONMENT_NAME, None, "NORTHFLANK_API_TOKEN", datetime.min
        )
        return ConnectionUse(shown, channels.get(connection_id, ()), count, remaining, limit)

    async def _refused(self, who: Requester, action: AuditAction, target: str) -> None:
        await self._store.record_audit(
            who.audit(action, target[:100], self._clock(), outcome=AuditOutcome.REFUSED)
        )


def _field_error(exc: NorthflankError, team: str | None) -> dict[str, str]:
    """Northflank's refusal, on the field that can fix it (plain text, no secret)."""
    kind = exc.failure().kind
    if kind is FailureKind.AUTHENTICATION:
        return {TOKEN: "Northflank did not accept this token: it is wrong, expired or revoked."}
    if kind is FailureKind.PERMISSION and team is None:
        return {
            TOKEN: "This token may not read backup destinations. Its role needs "
            "Account > BackupDestinations > General > Read; an organisation token "
            "also needs the team id below."
        }
    if kind in (FailureKind.PERMISSION, FailureKind.NOT_FOUND):
        return {TEAM: "This token cannot read backup destinations in that team."}
    if kind is FailureKind.RATE_LIMITED:
        return {TOKEN: "This token is over its Northflank rate limit; try again later."}
    return {
        TOKEN: "Northflank could not be asked just now, so nothing was saved. "
        "Try again in a minute."
    }
