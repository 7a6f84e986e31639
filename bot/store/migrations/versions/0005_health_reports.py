"""Seeing backup health: the weekly report per watch.

Revision ID: 0005_health_reports
Revises: 0004_trustworthy_alerts
Created: 2026-12-05

- watches.weekly_report: `report=weekly` (the default, so every existing
  watch gets its Monday report) or `report=off`.
- watches.report_sent_for: the Monday 09:00 whose report was last claimed for
  the watch; a conditional update of it is how several replicas send each
  week's report once.

Only new columns with a server default or nullable: replicas of the previous
version keep working while one migrates.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_health_reports"
down_revision: str | None = "0004_trustworthy_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.add_column(
            sa.Column("weekly_report", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
        batch.add_column(sa.Column("report_sent_for", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.drop_column("report_sent_for")
        batch.drop_column("weekly_report")
