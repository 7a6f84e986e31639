"""The first schema: watches, polling, known backups, addons, the ledger and the outbox.

Revision ID: 0001_initial
Revises: (none)
Created: 2025-01-01

Written by hand, with every constraint named, to match bot/store/tables.py;
tests/store/test_migrate.py compares the two on both databases.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _time(name: str, *, nullable: bool = False) -> sa.Column[datetime]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _text(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("channel"),
        _text("destination_id"),
        _text("destination_name"),
        _text("events"),
        sa.Column("expiry_seconds", sa.Integer(), nullable=False),
        sa.Column("stuck_seconds", sa.Integer(), nullable=False),
        _time("muted_until", nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        _text("state_reason", nullable=True),
        _time("started_at"),
        _text("created_by"),
        _time("created_at"),
        _text("updated_by", nullable=True),
        _time("updated_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_watches"),
        sa.UniqueConstraint("channel", "destination_id", name="uq_watches_channel_destination_id"),
        sa.CheckConstraint("state IN ('active', 'broken', 'disabled')", name="ck_watches_state"),
    )
    op.create_index("ix_watches_destination_id", "watches", ["destination_id"])

    op.create_table(
        "poll_status",
        _text("destination_id"),
        _time("last_poll_at", nullable=True),
        _time("last_success_at", nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        _time("failing_since", nullable=True),
        _text("last_error", nullable=True),
        sa.Column("scan_complete", sa.Boolean(), server_default=sa.false(), nullable=False),
        _text("scan_cursor", nullable=True),
        sa.PrimaryKeyConstraint("destination_id", name="pk_poll_status"),
    )

    op.create_table(
        "known_backups",
        _text("destination_id"),
        _text("backup_id"),
        _text("name"),
        _text("status"),
        _time("status_since"),
        _time("first_seen_at"),
        _time("created_at"),
        _time("completed_at", nullable=True),
        _time("expires_at", nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        _text("addon_id", nullable=True),
        _text("addon_name", nullable=True),
        _text("addon_type", nullable=True),
        _text("addon_version", nullable=True),
        _text("project_id", nullable=True),
        _text("project_name", nullable=True),
        _text("schedules"),
        sa.PrimaryKeyConstraint("destination_id", "backup_id", name="pk_known_backups"),
    )
    op.create_index(
        "ix_known_backups_destination_id_status", "known_backups", ["destination_id", "status"]
    )
    op.create_index(
        "ix_known_backups_destination_id_expires_at",
        "known_backups",
        ["destination_id", "expires_at"],
    )

    op.create_table(
        "addons",
        _text("destination_id"),
        _text("addon_id"),
        _text("addon_name"),
        _text("project_id", nullable=True),
        _text("project_name", nullable=True),
        _text("addon_type", nullable=True),
        _text("schedules"),
        _time("schedules_created_at", nullable=True),
        _time("first_seen_at"),
        _time("last_created_at"),
        _text("latest_backup_id"),
        _text("latest_completed_id", nullable=True),
        _time("latest_completed_created_at", nullable=True),
        sa.PrimaryKeyConstraint("destination_id", "addon_id", name="pk_addons"),
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("channel"),
        _text("destination_id"),
        sa.Column("watch_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(32), nullable=False),
        _text("subject"),
        _text("addon_id", nullable=True),
        _time("occurred_at"),
        _time("created_at"),
        _text("details"),
        _text("message_channel", nullable=True),
        _text("message_ts", nullable=True),
        _time("resolved_at", nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint(
            "channel",
            "destination_id",
            "event",
            "subject",
            name="uq_alerts_channel_destination_id_event_subject",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["alerts.id"], name="fk_alerts_resolved_by_alerts"
        ),
    )
    op.create_index(
        "ix_alerts_channel_destination_id_resolved_at",
        "alerts",
        ["channel", "destination_id", "resolved_at"],
    )
    op.create_index(
        "ix_alerts_message_channel_message_ts", "alerts", ["message_channel", "message_ts"]
    )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        _text("channel"),
        sa.Column("kind", sa.String(16), nullable=False),
        _text("alert_ids"),
        sa.Column("parent_alert_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        _time("next_attempt_at"),
        _text("last_error", nullable=True),
        _time("created_at"),
        _time("delivered_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(
            ["parent_alert_id"], ["alerts.id"], name="fk_outbox_parent_alert_id_alerts"
        ),
        sa.CheckConstraint("kind IN ('post', 'thread_reply', 'update')", name="ck_outbox_kind"),
        sa.CheckConstraint(
            "state IN ('pending', 'parked', 'delivered', 'failed')", name="ck_outbox_state"
        ),
    )
    op.create_index("ix_outbox_state_channel_id", "outbox", ["state", "channel", "id"])


def downgrade() -> None:
    for table in ("outbox", "alerts", "addons", "known_backups", "poll_status", "watches"):
        op.drop_table(table)
