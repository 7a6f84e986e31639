"""Which write on Northflank an alert allows, and what exactly it addresses. Pure.

One answer for the button (shown or not) and for the press (acted on or
refused), so a button is offered exactly when pressing it can work.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.alerts import Alert
from bot.core.audit import AuditAction
from bot.core.watches import Event

# Which alerts each write button belongs to.
WRITE_EVENTS: dict[AuditAction, frozenset[Event]] = {
    AuditAction.RETAIN: frozenset({Event.EXPIRING}),
    # A backup that looks wrong is worth taking again, as a failed one is.
    AuditAction.START_BACKUP: frozenset({Event.FAILED, Event.MISSED, Event.ANOMALY}),
    AuditAction.ABORT: frozenset({Event.STUCK}),
}


@dataclass(frozen=True, slots=True)
class WriteTarget:
    project_id: str
    addon_id: str
    backup_id: str | None  # None for Start backup, which addresses the addon


def write_target(action: AuditAction, alert: Alert) -> WriteTarget | None:
    """What `action` would write to for this alert; None when it does not apply.

    Retain and Abort address the backup under its own project and addon (the
    API's path is the backup's). Start backup addresses the alert's addon,
    known from the alert (a missed run has no backup) or from its backup.
    """
    if alert.event not in WRITE_EVENTS.get(action, frozenset()):
        return None
    backup = alert.backup
    if action is AuditAction.START_BACKUP:
        addon = alert.addon or (backup.addon if backup else None)
        project = alert.project or (backup.project if backup else None)
        if addon is None or project is None:
            return None
        return WriteTarget(project.id, addon.id, None)
    if backup is None or backup.project is None or backup.addon is None:
        return None
    return WriteTarget(backup.project.id, backup.addon.id, backup.id)
