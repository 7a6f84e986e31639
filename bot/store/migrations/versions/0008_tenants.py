"""Several Slack workspaces: each Northflank connection belongs to one.

Revision ID: 0008_tenants
Revises: 0007_slack_installations
Created: 2026-12-05

- connections.slack_team: the workspace that connected it ('' for a
  single-workspace deployment, whose rows keep working as they are); names
  are unique within a workspace, not across them.
- workspace_admins: in a distributable app, each workspace's admins: who
  installed it, and whom they named with `/backups admins add`.

Every other row of tenant data names its workspace through its channel key
(bot/core/tenancy.py), which needs no schema change.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_tenants"
down_revision: str | None = "0007_slack_installations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # '' fills the rows there are (a single workspace's); the bot always names it itself.
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("slack_team", sa.Text(), server_default="", nullable=False))
        batch.drop_constraint("uq_connections_name", type_="unique")
        batch.create_unique_constraint("uq_connections_slack_team_name", ["slack_team", "name"])
    with op.batch_alter_table("connections") as batch:
        batch.alter_column("slack_team", server_default=None)
    op.create_table(
        "workspace_admins",
        sa.Column("slack_team", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("added_by", sa.Text(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slack_team", "user_id", name=op.f("pk_workspace_admins")),
    )


def downgrade() -> None:
    op.drop_table("workspace_admins")
    with op.batch_alter_table("connections") as batch:
        batch.drop_constraint("uq_connections_slack_team_name", type_="unique")
        batch.create_unique_constraint("uq_connections_name", ["name"])
        batch.drop_column("slack_team")
