"""Trustworthy alerts: Northflank's timeline for recoveries, anomalies, retention.

Revision ID: 0004_trustworthy_alerts
Revises: 0003_interactive_alerts
Created: 2026-12-05

- alerts.began_at: where each problem sits on Northflank's timeline (the
  backup's createdAt, the missed run's due time); filled in for the problems
  already raised, from the details each alert was stored with.
- addons.recent_completed: the addon's last completed backups, for the
  anomaly rule's medians; filled in from the backups already known.
- poll_status.scan_unreadable and scan_attempts: a first full read that met
  unreadable items, and how often one was started over for that.
- job_runs: which replica ran a scheduled job (retention) last, and when.
- indexes for retention, and for a channel's last post.
- `anomaly` joins the events of every watch that chose all the events there
  were (the default): it is on by default.

Only new nullable columns, columns with a server default, a new table and
indexes: replicas of the previous version keep working while one migrates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.store.database import JSONText, UTCDateTime

revision: str = "0004_trustworthy_alerts"
down_revision: str | None = "0003_interactive_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_DEFAULT_EVENTS = "failed,aborted,expiring,stuck,missed"
_NEW_DEFAULT_EVENTS = "failed,aborted,expiring,stuck,missed,anomaly"
_PROBLEMS = ("failed", "aborted", "stuck", "missed", "northflank-problem")
_RECENT_KEPT = 30  # bot.core.anomalies.RECENT_KEPT when this was written
_BATCH = 500


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("began_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_alerts_created_at", "alerts", ["created_at"])
    with op.batch_alter_table("addons") as batch:
        batch.add_column(sa.Column("recent_completed", sa.Text(), nullable=True))
    with op.batch_alter_table("poll_status") as batch:
        batch.add_column(
            sa.Column("scan_unreadable", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(
            sa.Column("scan_attempts", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_index("ix_known_backups_expires_at", "known_backups", ["expires_at"])
    op.create_index("ix_outbox_channel_delivered_at", "outbox", ["channel", "delivered_at"])
    op.create_index("ix_outbox_delivered_at", "outbox", ["delivered_at"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "job_runs",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_job_runs"),
    )
    connection = op.get_bind()
    _fill_began_at(connection)
    _fill_recent_completed(connection)
    connection.execute(
        sa.text("UPDATE watches SET events = :new WHERE events = :old"),
        {"new": _NEW_DEFAULT_EVENTS, "old": _OLD_DEFAULT_EVENTS},
    )


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(
        sa.text("UPDATE watches SET events = :old WHERE events = :new"),
        {"new": _NEW_DEFAULT_EVENTS, "old": _OLD_DEFAULT_EVENTS},
    )
    op.drop_table("job_runs")
    op.drop_index("ix_audit_log_at", table_name="audit_log")
    op.drop_index("ix_outbox_delivered_at", table_name="outbox")
    op.drop_index("ix_outbox_channel_delivered_at", table_name="outbox")
    op.drop_index("ix_known_backups_expires_at", table_name="known_backups")
    with op.batch_alter_table("poll_status") as batch:
        batch.drop_column("scan_attempts")
        batch.drop_column("scan_unreadable")
    with op.batch_alter_table("addons") as batch:
        batch.drop_column("recent_completed")
    op.drop_index("ix_alerts_created_at", table_name="alerts")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("began_at")


# The columns the backfills read and write, typed as the store types them, so that
# datetimes round-trip the same way on both databases.
_alerts = sa.table(
    "alerts",
    sa.column("id", sa.Integer()),
    sa.column("event", sa.Text()),
    sa.column("details", JSONText()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("began_at", UTCDateTime()),
)
_known = sa.table(
    "known_backups",
    sa.column("destination_id", sa.Text()),
    sa.column("backup_id", sa.Text()),
    sa.column("addon_id", sa.Text()),
    sa.column("name", sa.Text()),
    sa.column("status", sa.Text()),
    sa.column("created_at", UTCDateTime()),
    sa.column("completed_at", UTCDateTime()),
    sa.column("size_bytes", sa.BigInteger()),
    sa.column("status_since", UTCDateTime()),
)
_addons = sa.table(
    "addons",
    sa.column("destination_id", sa.Text()),
    sa.column("addon_id", sa.Text()),
    sa.column("recent_completed", JSONText()),
)


def _fill_began_at(connection: sa.Connection) -> None:
    """The problems raised so far, placed on Northflank's timeline from their details."""
    last = 0
    while True:
        rows = connection.execute(
            sa.select(_alerts.c.id, _alerts.c.details, _alerts.c.occurred_at)
            .where(_alerts.c.id > last, _alerts.c.event.in_(_PROBLEMS))
            .order_by(_alerts.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        for alert_id, details, occurred_at in rows:
            connection.execute(
                sa.update(_alerts)
                .where(_alerts.c.id == alert_id)
                .values(began_at=_began_at(details) or occurred_at)
            )
        last = rows[-1][0]


def _began_at(details: dict[str, Any]) -> datetime | None:
    # bot.core.alerts.Alert.began_at, from alert_to_json's shape as of 0003.
    moment = details.get("expected_at") or (details.get("backup") or {}).get("created_at")
    return datetime.fromisoformat(moment) if moment else None


def _fill_recent_completed(connection: sa.Connection) -> None:
    """Each addon's last completed backups, from what the store already knows."""
    addons = connection.execute(sa.select(_addons.c.destination_id, _addons.c.addon_id)).all()
    for destination_id, addon_id in addons:
        k = _known.c
        rows = connection.execute(
            sa.select(k.backup_id, k.name, k.created_at, k.completed_at, k.size_bytes)
            .add_columns(k.status_since)
            .where(k.destination_id == destination_id, k.addon_id == addon_id)
            .where(k.status == "completed")
            .order_by(k.created_at.desc())
            .limit(_RECENT_KEPT)
        ).all()
        runs = [
            {
                "id": backup_id,
                "name": name,
                "created_at": created_at.isoformat(),
                "completed_at": completed_at.isoformat() if completed_at else None,
                "size": size,
                "status_since": status_since.isoformat(),
            }
            for backup_id, name, created_at, completed_at, size, status_since in reversed(rows)
        ]
        connection.execute(
            sa.update(_addons)
            .where(_addons.c.destination_id == destination_id, _addons.c.addon_id == addon_id)
            .values(recent_completed=runs)
        )
