"""Interactive alerts: acknowledgements, snoozes, reminders, quiet hours, the audit trail.

Revision ID: 0003_interactive_alerts
Revises: 0002_replicas
Created: 2026-11-28

New nullable columns (or columns with a server default), new tables, and one
widened CHECK on the outbox's kind. A replica still running the previous
version cannot read a 'note' row, so stop the old replicas before the new
ones start (README, "Upgrades").
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_interactive_alerts"
down_revision: str | None = "0002_replicas"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KINDS_BEFORE = "kind IN ('post', 'thread_reply', 'update')"
_KINDS_AFTER = "kind IN ('post', 'thread_reply', 'update', 'note')"

# 0001 named its CHECK constraints before the naming convention added the
# table's prefix to them, so the outbox's kind check is really called this.
# `op.f` marks a name as final: the convention must not prefix it again.
_KIND_CHECK_BEFORE = "ck_outbox_ck_outbox_kind"
_KIND_CHECK = "ck_outbox_kind"


def upgrade() -> None:
    with op.batch_alter_table("watches") as batch:
        batch.add_column(
            sa.Column("remind_seconds", sa.Integer(), server_default="86400", nullable=False)
        )
        batch.add_column(sa.Column("quiet_hours", sa.Text(), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.Text(), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_notified_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_alerts_held_until", "alerts", ["held_until"])
    op.create_index("ix_alerts_event_resolved_at", "alerts", ["event", "resolved_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch.drop_constraint(op.f(_KIND_CHECK_BEFORE), type_="check")
        batch.create_check_constraint(op.f(_KIND_CHECK), _KINDS_AFTER)
    op.create_table(
        "snoozes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("destination_id", sa.Text(), nullable=False),
        sa.Column("addon_id", sa.Text(), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snoozes"),
        sa.UniqueConstraint(
            "channel",
            "destination_id",
            "addon_id",
            "event",
            name="uq_snoozes_channel_destination_id_addon_id_event",
        ),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_channel_id", "audit_log", ["channel", "id"])
    op.create_table(
        "alert_actions",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('running', 'done', 'failed')", name="ck_alert_actions_state"),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name="fk_alert_actions_alert_id_alerts"
        ),
        sa.PrimaryKeyConstraint("alert_id", "action", name="pk_alert_actions"),
    )


def downgrade() -> None:
    op.drop_table("alert_actions")
    op.drop_index("ix_audit_log_channel_id", table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_table("snoozes")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f(_KIND_CHECK), type_="check")
        batch.create_check_constraint(op.f(_KIND_CHECK_BEFORE), _KINDS_BEFORE)
        batch.drop_column("payload")
    op.drop_index("ix_alerts_event_resolved_at", table_name="alerts")
    op.drop_index("ix_alerts_held_until", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("held_until")
        batch.drop_column("last_notified_at")
        batch.drop_column("acknowledged_at")
        batch.drop_column("acknowledged_by")
    with op.batch_alter_table("watches") as batch:
        batch.drop_column("quiet_hours")
        batch.drop_column("remind_seconds")
