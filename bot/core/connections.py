"""Northflank connections: which token a channel's commands and watches go through. Pure.

A deployment always has the environment's token (`NORTHFLANK_API_TOKEN`),
when set, as connection 0. `/backups connect` adds named connections, each
with its own token, stored encrypted. A channel uses the one it chose with
`use NAME`; without a choice, the workspace's only connection, else the
environment's token.

Two Northflank teams may both have a destination called `s3`, so the store
does not name a destination by Northflank's id alone: it uses a *destination
key*. For the environment's token the key is Northflank's id, so the
single-team path's rows are exactly what they always were; for a stored
connection it is the id followed by `@` and the connection's number (`@`
never occurs in a Northflank id, which is a slug).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.core.quoting import quote

# The connection NORTHFLANK_API_TOKEN gives; stored connections count from 1.
ENVIRONMENT = 0
ENVIRONMENT_NAME = "environment"
_KEY_SEPARATOR = "@"

# Lower-case, so that `use Prod` and `use prod` are the same; short, so it fits a list.
CONNECTION_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_CONNECTIONS = 20


class ConnectionNameError(ValueError):
    """Not a name a connection can have; the message says what is."""


def valid_connection_name(text: str) -> str:
    name = text.strip().lower()
    if name == ENVIRONMENT_NAME:
        raise ConnectionNameError(
            f"{quote(ENVIRONMENT_NAME)} is the name of the token in the environment "
            "(NORTHFLANK_API_TOKEN); choose another."
        )
    if not CONNECTION_NAME.fullmatch(name):
        raise ConnectionNameError(
            f"A connection's name is 1 to 32 letters, digits, `-` or `_`, like `acme-prod`; "
            f"not {quote(text, 40)}."
        )
    return name


def destination_key(destination_id: str, connection_id: int) -> str:
    """How the store names `destination_id` as read through connection `connection_id`."""
    if connection_id == ENVIRONMENT:
        return destination_id
    return f"{destination_id}{_KEY_SEPARATOR}{connection_id}"


def split_destination_key(key: str) -> tuple[str, int]:
    """Northflank's id and the connection a destination key names."""
    destination_id, separator, connection = key.rpartition(_KEY_SEPARATOR)
    if not separator or not connection.isdigit():
        return key, ENVIRONMENT
    return destination_id, int(connection)


def shown_id(key: str) -> str:
    """The destination's id as people know it: Northflank's."""
    return split_destination_key(key)[0]


@dataclass(frozen=True, slots=True)
class Connection:
    """A Northflank token the bot may use, without the token itself."""

    id: int
    name: str
    # For organisation tokens: calls go to /v1/teams/{team}/...
    northflank_team_id: str | None
    created_by: str
    created_at: datetime
    # The Slack workspace that connected it (bot/core/tenancy.py); '' for a single one.
    slack_team: str = ""


@dataclass(frozen=True, slots=True)
class Disconnected:
    """What removing a connection stopped: the channels told, and how many watches."""

    connection: Connection
    channels: tuple[str, ...]
    watches: int


@dataclass(frozen=True, slots=True)
class ConnectionUse:
    """A connection and who uses it: the rows of `connections`."""

    connection: Connection
    channels: tuple[str, ...]
    destinations: int | None  # None: Northflank could not be asked just now
    budget_remaining: int | None  # None: not known until the first request
    budget_limit: int | None


def chosen_connection(
    chosen: int | None, stored: tuple[Connection, ...], *, environment: bool
) -> int | None:
    """The connection a channel's commands go through, or None when there is none.

    The channel's own choice (`use NAME`) first, while it exists. Without one,
    the environment's token counts as a connection like the others: the
    channel uses the only connection there is, which is the environment's
    whenever it is set, so adding a connection never moves a channel that
    did not ask to be moved. With several stored connections and no
    environment token, the channel must choose.
    """
    if chosen == ENVIRONMENT and environment:
        return ENVIRONMENT
    if chosen is not None and any(c.id == chosen for c in stored):
        return chosen
    if environment:
        return ENVIRONMENT
    return stored[0].id if len(stored) == 1 else None
