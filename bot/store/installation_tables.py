"""A distributable app's tables: each workspace's installation and the OAuth states.

The Slack SDK's installation store and state store query these
(bot/slack/installations.py); migration 0007 creates them. They sit on the
same metadata as every other table, so the migration test compares them too.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, Table, Text

from bot.store.schema import metadata


def _short(name: str, *, nullable: bool = True) -> Column[str]:
    return Column(name, String(32), nullable=nullable)


def _name(name: str) -> Column[str]:
    return Column(name, String(200), nullable=True)


def _secret(name: str) -> Column[str]:
    # Fernet ciphertexts (bot/slack/installations.py): longer than the SDK's VARCHAR(200).
    return Column(name, Text(), nullable=True)


slack_installations = Table(
    "slack_installations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _short("client_id", nullable=False),
    _short("app_id", nullable=False),
    _short("enterprise_id"),
    _name("enterprise_name"),
    _name("enterprise_url"),
    _short("team_id"),
    _name("team_name"),
    _secret("bot_token"),
    _short("bot_id"),
    _short("bot_user_id"),
    Column("bot_scopes", String(1000)),
    _secret("bot_refresh_token"),
    Column("bot_token_expires_at", DateTime),
    _short("user_id", nullable=False),
    _secret("user_token"),
    Column("user_scopes", String(1000)),
    _secret("user_refresh_token"),
    Column("user_token_expires_at", DateTime),
    _name("incoming_webhook_url"),
    _name("incoming_webhook_channel"),
    _name("incoming_webhook_channel_id"),
    _name("incoming_webhook_configuration_url"),
    Column("is_enterprise_install", Boolean, nullable=False),
    _short("token_type"),
    Column("installed_at", DateTime, nullable=False),
    Index(
        "slack_installations_idx",
        "client_id",
        "enterprise_id",
        "team_id",
        "user_id",
        "installed_at",
    ),
)

slack_bots = Table(
    "slack_bots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _short("client_id", nullable=False),
    _short("app_id", nullable=False),
    _short("enterprise_id"),
    _name("enterprise_name"),
    _short("team_id"),
    _name("team_name"),
    _secret("bot_token"),
    _short("bot_id"),
    _short("bot_user_id"),
    Column("bot_scopes", String(1000)),
    _secret("bot_refresh_token"),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)

slack_oauth_states = Table(
    "slack_oauth_states",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)


TABLES = (slack_installations, slack_bots, slack_oauth_states)
