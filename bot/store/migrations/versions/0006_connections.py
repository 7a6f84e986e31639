"""Northflank connections: several tokens, each channel using one.

Revision ID: 0006_connections
Revises: 0005_health_reports
Created: 2026-12-05

- connections: the tokens `/backups connect` added, encrypted with
  ENCRYPTION_KEY; the environment's token is connection 0 and has no row.
- channel_connections: the connection a channel chose with `/backups use`.

Rows of a stored connection's destinations name them by destination key
(`id@connection`, bot/core/connections.py), so no existing table changes and
the environment's rows stay as they are. Only new tables: replicas of the
previous version keep working while one migrates.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_connections"
down_revision: str | None = "0005_health_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("northflank_team_id", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.UniqueConstraint("name", name=op.f("uq_connections_name")),
    )
    op.create_table(
        "channel_connections",
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("chosen_by", sa.Text(), nullable=False),
        sa.Column("chosen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", name=op.f("pk_channel_connections")),
    )
    op.create_index(
        op.f("ix_channel_connections_connection_id"), "channel_connections", ["connection_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_channel_connections_connection_id"), "channel_connections")
    op.drop_table("channel_connections")
    op.drop_table("connections")
