"""Several replicas: leases on destinations, claims on outbox rows, the replica registry.

The index on poll_status lets a claim walk destinations oldest poll first
instead of sorting them all on every claim.

Revision ID: 0002_replicas
Revises: 0001_initial
Created: 2026-11-28

Only new nullable columns and a new table: replicas still running 0001 keep
working while the first new replica migrates (a rolling upgrade).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_replicas"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch_alter_table: SQLite cannot add several columns in one ALTER otherwise.
    with op.batch_alter_table("poll_status") as batch:
        batch.add_column(sa.Column("lease_owner", sa.Text(), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_poll_status_last_poll_at_destination_id",
        "poll_status",
        ["last_poll_at", "destination_id"],
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claimed_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "replicas",
        sa.Column("id", sa.Text(), nullable=False),
        sa.Column("hostname", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_replicas"),
    )


def downgrade() -> None:
    op.drop_table("replicas")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
    op.drop_index("ix_poll_status_last_poll_at_destination_id", table_name="poll_status")
    with op.batch_alter_table("poll_status") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
