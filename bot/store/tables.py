"""The tables. Migrations (bot/store/migrations) create exactly these; a test compares them.

Enumerated values (watch state, outbox kind and state) are stored as their
text, so a row reads the same in psql and sqlite3. JSON columns are text:
nothing ever queries inside them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.store import installation_tables
from bot.store.schema import Base as Base  # re-exported, like metadata
from bot.store.schema import metadata as metadata  # re-exported: migrations and tests read it here


class WatchRow(Base):
    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("channel", "destination_id"),
        Index(None, "destination_id"),
        CheckConstraint("state IN ('active', 'broken', 'disabled')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str]
    destination_id: Mapped[str]
    destination_name: Mapped[str]
    # Event values, comma-separated, in the order `events=` lists them.
    events: Mapped[str]
    expiry_seconds: Mapped[int]
    stuck_seconds: Mapped[int]
    # 0: never remind (`remind=off`).
    remind_seconds: Mapped[int] = mapped_column(Integer, server_default="86400")
    # bot.core.quiet_hours.QuietHours.to_text(), or NULL for none.
    quiet_hours: Mapped[str | None]
    muted_until: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16))
    state_reason: Mapped[str | None]
    started_at: Mapped[datetime]
    created_by: Mapped[str]
    created_at: Mapped[datetime]
    updated_by: Mapped[str | None]
    updated_at: Mapped[datetime | None]
    # `report=weekly` (True) or `report=off`.
    weekly_report: Mapped[bool] = mapped_column(server_default=true())
    # The Monday 09:00 whose weekly report was last claimed (sent, or skipped while muted).
    report_sent_for: Mapped[datetime | None]


class PollStatusRow(Base):
    __tablename__ = "poll_status"
    # Replicas claim the due destination polled longest ago (bot/store/leases.py).
    __table_args__ = (Index(None, "last_poll_at", "destination_id"),)

    destination_id: Mapped[str] = mapped_column(primary_key=True)
    last_poll_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    consecutive_failures: Mapped[int] = mapped_column(Integer, server_default="0")
    failing_since: Mapped[datetime | None]
    last_error: Mapped[str | None]
    # The first full read of a destination may take several polls; where it got to.
    scan_complete: Mapped[bool] = mapped_column(server_default=false())
    scan_cursor: Mapped[str | None]
    # The read under way met unreadable items; first full reads started over for that.
    scan_unreadable: Mapped[bool] = mapped_column(server_default=false())
    scan_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # Which replica is polling the destination now, and until when its claim
    # holds unless renewed (bot/store/leases.py). NULL: nobody is.
    lease_owner: Mapped[str | None]
    lease_expires_at: Mapped[datetime | None]


class KnownBackupRow(Base):
    __tablename__ = "known_backups"
    __table_args__ = (
        Index(None, "destination_id", "status"),
        Index(None, "destination_id", "expires_at"),
        # A poll compares its page with the newest stored rows, read before the page
        # arrives (bot/store/poll_start.py); reports read a period by creation too.
        Index(None, "destination_id", "created_at"),
        # Retention: backups that expired long ago, whatever their destination.
        Index(None, "expires_at"),
    )

    destination_id: Mapped[str] = mapped_column(primary_key=True)
    backup_id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    # As the API sent it, so a status Northflank adds later survives a round trip.
    status: Mapped[str]
    status_since: Mapped[datetime]
    first_seen_at: Mapped[datetime]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    addon_id: Mapped[str | None]
    addon_name: Mapped[str | None]
    addon_type: Mapped[str | None]
    addon_version: Mapped[str | None]
    project_id: Mapped[str | None]
    project_name: Mapped[str | None]
    schedules: Mapped[Any]


class AddonRow(Base):
    """One summary per addon, kept up to date as backups are saved.

    The rules need each addon's newest backup, newest completed backup and
    schedules; keeping them here spares a scan of the addon's whole history
    on every poll.
    """

    __tablename__ = "addons"

    destination_id: Mapped[str] = mapped_column(primary_key=True)
    addon_id: Mapped[str] = mapped_column(primary_key=True)
    addon_name: Mapped[str]
    project_id: Mapped[str | None]
    project_name: Mapped[str | None]
    addon_type: Mapped[str | None]
    schedules: Mapped[Any]
    # createdAt of the backup the schedules came from, so that an older page
    # read later does not replace them with older schedules.
    schedules_created_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    last_created_at: Mapped[datetime]
    latest_backup_id: Mapped[str]
    latest_completed_id: Mapped[str | None]
    latest_completed_created_at: Mapped[datetime | None]
    # Its last completed backups, oldest first (bot.core.anomalies.CompletedRun, as
    # JSON): what the anomaly rule compares each new one with.
    recent_completed: Mapped[Any | None]


class AlertRow(Base):
    """The ledger: every alert ever raised, once per channel, destination, event and subject."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("channel", "destination_id", "event", "subject"),
        Index(None, "channel", "destination_id", "resolved_at"),
        Index(None, "message_channel", "message_ts"),
        Index(None, "held_until"),
        # Reminders look for open failed/stuck/missed alerts every minute.
        Index(None, "event", "resolved_at"),
        # Retention: the oldest first.
        Index(None, "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str]
    destination_id: Mapped[str]
    # No foreign key: unwatching must not erase what the channel was told.
    watch_id: Mapped[int | None]
    event: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str]
    addon_id: Mapped[str | None]
    occurred_at: Mapped[datetime]
    # Where the problem sits on Northflank's timeline (Alert.began_at): a later
    # good backup created at or after it recovers it.
    began_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    # bot.core.alerts.alert_to_json: enough to render the message again later.
    details: Mapped[Any]
    message_channel: Mapped[str | None]
    message_ts: Mapped[str | None]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    # Someone pressed Acknowledge: no more reminders.
    acknowledged_by: Mapped[str | None]
    acknowledged_at: Mapped[datetime | None]
    # When the channel last heard of it (posted, or reminded): reminders count from here.
    last_notified_at: Mapped[datetime | None]
    # Raised during the watch's quiet hours: posted, in one digest, once this passes.
    held_until: Mapped[datetime | None]


class OutboxRow(Base):
    """Messages to send, written in the same transaction as the ledger rows they carry."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(None, "state", "channel", "id"),
        # A channel's last post (pacing), and retention of what was delivered.
        Index(None, "channel", "delivered_at"),
        Index(None, "delivered_at"),
        CheckConstraint("kind IN ('post', 'thread_reply', 'update', 'note')", name="kind"),
        CheckConstraint("state IN ('pending', 'parked', 'delivered', 'failed')", name="state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str]
    kind: Mapped[str] = mapped_column(String(16))
    # Ledger ids, in the order the message shows them.
    alert_ids: Mapped[Any]
    parent_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id"))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None]
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    # The replica delivering the row, kept once delivered to say who posted it;
    # `claimed_until` says how long the claim holds unless renewed.
    claimed_by: Mapped[str | None]
    claimed_until: Mapped[datetime | None]
    # kind 'note': the note as data (bot.core.messages.note_to_json), rendered when posted.
    payload: Mapped[Any | None]


class ReplicaRow(Base):
    """Each running bot process, seen by the others through its heartbeat."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(primary_key=True)
    hostname: Mapped[str]
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class SnoozeRow(Base):
    """One event on one addon, quiet in one channel until `until` (the Snooze button)."""

    __tablename__ = "snoozes"
    __table_args__ = (UniqueConstraint("channel", "destination_id", "addon_id", "event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str]
    destination_id: Mapped[str]
    # '' for an alert about the destination as a whole (a Northflank problem).
    addon_id: Mapped[str]
    event: Mapped[str] = mapped_column(String(32))
    until: Mapped[datetime]
    created_by: Mapped[str]
    created_at: Mapped[datetime]


class AuditRow(Base):
    """Configuration changes and actions, per channel: what `/backups audit` shows."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "channel", "id"), Index(None, "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str]
    user_id: Mapped[str]
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str]
    detail: Mapped[str | None]
    outcome: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class AlertActionRow(Base):
    """A write on Northflank taken from one alert's button: at most one at a time.

    The primary key is what makes a double click (or the same click on two
    replicas) call Northflank once: the second press finds the row taken.
    """

    __tablename__ = "alert_actions"
    __table_args__ = (CheckConstraint("state IN ('running', 'done', 'failed')", name="state"),)

    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    action: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # What Northflank answered, in plain words (unescaped).
    result: Mapped[str | None]


class JobRunRow(Base):
    """A scheduled job that every replica runs but only one should: who ran it last, and when.

    A replica claims a run with one conditional update (bot/store/jobs.py), so
    several replicas ticking at once run the job once an interval.
    """

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(primary_key=True)
    last_run_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None]
    claimed_until: Mapped[datetime | None]


class ConnectionRow(Base):
    """A Northflank token added with `/backups connect`, encrypted (bot/store/encryption.py).

    The environment's token (NORTHFLANK_API_TOKEN) is connection 0 and has no row.
    """

    __tablename__ = "connections"
    __table_args__ = (UniqueConstraint("slack_team", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The Slack workspace it belongs to (bot/core/tenancy.py): '' for a single workspace.
    slack_team: Mapped[str]
    name: Mapped[str]
    # A Fernet token: never the API token in clear.
    token_encrypted: Mapped[str]
    northflank_team_id: Mapped[str | None]
    created_by: Mapped[str]
    created_at: Mapped[datetime]


class ChannelConnectionRow(Base):
    """The connection a channel chose with `/backups use NAME` (0: the environment's token).

    No foreign key: 0 has no row. Disconnecting deletes the choices of that connection.
    """

    __tablename__ = "channel_connections"
    __table_args__ = (Index(None, "connection_id"),)

    channel: Mapped[str] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(Integer)
    chosen_by: Mapped[str]
    chosen_at: Mapped[datetime]


class WorkspaceAdminRow(Base):
    """A distributable app's admins, per workspace: who installed it, and whom they named."""

    __tablename__ = "workspace_admins"

    slack_team: Mapped[str] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(primary_key=True)
    # "install" for the installer; else the admin who added them.
    added_by: Mapped[str]
    added_at: Mapped[datetime]


# A distributable app's tables are on the same metadata (registered by importing them).
INSTALLATION_TABLES = installation_tables.TABLES
