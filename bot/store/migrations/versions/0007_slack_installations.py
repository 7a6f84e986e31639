"""A distributable app: each workspace's installation, and the OAuth flow's states.

Revision ID: 0007_slack_installations
Revises: 0006_connections
Created: 2026-12-05

The tables the Slack SDK's SQLAlchemy installation store and OAuth state
store query (slack_installations, slack_bots,
slack_oauth_states), written out here rather than created by the library, so
that a library upgrade never changes the schema behind a migration's back.
One difference: the token columns are Text, not VARCHAR(200), because they
hold Fernet ciphertexts (bot/slack/installations.py), which are longer than
the tokens, and rotating tokens are long already.

Only new tables: replicas of the previous version keep working while one migrates.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_slack_installations"
down_revision: str | None = "0006_connections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _short(name: str, *, nullable: bool = True) -> sa.Column[str]:
    return sa.Column(name, sa.String(32), nullable=nullable)


def _name(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.String(200), nullable=True)


def _secret(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=True)


def upgrade() -> None:
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), nullable=False),
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
        sa.Column("bot_scopes", sa.String(1000), nullable=True),
        _secret("bot_refresh_token"),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        _short("user_id", nullable=False),
        _secret("user_token"),
        sa.Column("user_scopes", sa.String(1000), nullable=True),
        _secret("user_refresh_token"),
        sa.Column("user_token_expires_at", sa.DateTime(), nullable=True),
        _name("incoming_webhook_url"),
        _name("incoming_webhook_channel"),
        _name("incoming_webhook_channel_id"),
        _name("incoming_webhook_configuration_url"),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        _short("token_type"),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_installations")),
    )
    op.create_index(
        "slack_installations_idx",
        "slack_installations",
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table(
        "slack_bots",
        sa.Column("id", sa.Integer(), nullable=False),
        _short("client_id", nullable=False),
        _short("app_id", nullable=False),
        _short("enterprise_id"),
        _name("enterprise_name"),
        _short("team_id"),
        _name("team_name"),
        _secret("bot_token"),
        _short("bot_id"),
        _short("bot_user_id"),
        sa.Column("bot_scopes", sa.String(1000), nullable=True),
        _secret("bot_refresh_token"),
        sa.Column("bot_token_expires_at", sa.DateTime(), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("installed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_bots")),
    )
    op.create_index(
        "slack_bots_idx",
        "slack_bots",
        ["client_id", "enterprise_id", "team_id", "installed_at"],
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("expire_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slack_oauth_states")),
    )


def downgrade() -> None:
    op.drop_table("slack_oauth_states")
    op.drop_index("slack_bots_idx", "slack_bots")
    op.drop_table("slack_bots")
    op.drop_index("slack_installations_idx", "slack_installations")
    op.drop_table("slack_installations")
