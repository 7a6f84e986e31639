"""Tenants: which Slack workspace a row belongs to. Pure.

A distributable app serves several workspaces from one database, and no
workspace may ever see or touch another's watches, alerts, messages or
connections. Every row of tenant data names its channel, so the channel is
where the workspace goes: the store keeps a *channel key*, the workspace's
team id and the channel id joined by `/`. A request's channel key is built
from its signed team id in one place (the Slack adapter's `Workspaces`), so
a query by channel is a query within that workspace; there is no unscoped
channel to forget the scope on. A single-workspace deployment's keys are the
channel ids themselves, so its rows are exactly what they always were.
"""

from __future__ import annotations

# The tenant of a single-workspace deployment (SLACK_BOT_TOKEN): no prefix at all.
SINGLE = ""
_SEPARATOR = "/"


def channel_key(team: str, channel: str) -> str:
    """The store's name for `channel` of workspace `team`."""
    return channel if team == SINGLE else f"{team}{_SEPARATOR}{channel}"


def split_channel_key(key: str) -> tuple[str, str]:
    """The workspace and Slack's channel id a channel key names."""
    team, separator, channel = key.partition(_SEPARATOR)
    return (team, channel) if separator else (SINGLE, key)


def team_of(key: str) -> str:
    return split_channel_key(key)[0]


def slack_channel(key: str) -> str:
    """The channel id Slack knows."""
    return split_channel_key(key)[1]


def team_prefix(team: str) -> str:
    """What every channel key of `team` starts with (for a LIKE): '' for SINGLE."""
    return "" if team == SINGLE else f"{team}{_SEPARATOR}"
