"""The newest backups of a destination, found by index.

Revision ID: 0009_newest_backups
Revises: 0008_tenants
Created: 2026-12-05

A poll reads a destination's newest stored rows before its page arrives, so
that a page that changed nothing is compared without another query (issue
17); without an index on (destination_id, created_at) that read would sort
every backup of the destination.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0009_newest_backups"
down_revision: str | None = "0008_tenants"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_known_backups_destination_id_created_at",
        "known_backups",
        ["destination_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_known_backups_destination_id_created_at", table_name="known_backups")
