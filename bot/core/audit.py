"""The audit trail: who changed what a channel watches, and who acted on Northflank. Pure.

Entries are stored (bot/store/audit.py), never only logged, so that
`/backups audit` can answer "who turned this off?" or "who started that
backup?" long after the logs have rotated. Refused attempts are recorded
too: someone trying a write button they may not use is worth knowing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# `/backups audit` shows this many entries, newest first.
AUDIT_SHOWN = 20


class AuditAction(StrEnum):
    # Configuration changes.
    WATCH = "watch"
    UNWATCH = "unwatch"
    MUTE = "mute"
    UNMUTE = "unmute"
    # Buttons on alerts.
    ACKNOWLEDGE = "acknowledge"
    SNOOZE = "snooze"
    # Writes on Northflank.
    RETAIN = "retain"
    START_BACKUP = "start-backup"
    ABORT = "abort"
    # Northflank connections (bot/core/connections.py).
    CONNECT = "connect"
    USE = "use"
    DISCONNECT = "disconnect"
    # The app was uninstalled from a workspace, or its bot token revoked.
    UNINSTALL = "uninstall"
    # A distributable app's admins of a workspace.
    ADMIN_ADD = "admin-add"
    ADMIN_REMOVE = "admin-remove"


class AuditOutcome(StrEnum):
    DONE = "done"
    # Not allowed (BOT_ADMINS); nothing was changed or called.
    REFUSED = "refused"
    # Allowed and tried, but Northflank (or the bot) could not do it.
    FAILED = "failed"


# The write actions, each gated by BOT_ADMINS and confirmed in a dialog.
WRITE_ACTIONS = frozenset({AuditAction.RETAIN, AuditAction.START_BACKUP, AuditAction.ABORT})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    channel: str
    user_id: str
    action: AuditAction
    # What it was done to, as a person reads it: a destination, an addon, a backup.
    # Outside text, unescaped; the renderer escapes it.
    target: str
    at: datetime
    outcome: AuditOutcome = AuditOutcome.DONE
    # Settings chosen, the snooze's end, Northflank's answer... (unescaped).
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked, and in which channel: everything they change is recorded against both."""

    user_id: str
    channel_id: str

    def audit(
        self,
        action: AuditAction,
        target: str,
        at: datetime,
        *,
        outcome: AuditOutcome = AuditOutcome.DONE,
        detail: str | None = None,
    ) -> AuditEntry:
        """What this person did here, for the channel's audit trail."""
        return AuditEntry(
            channel=self.channel_id,
            user_id=self.user_id,
            action=action,
            target=target,
            at=at,
            outcome=outcome,
            detail=detail,
        )
