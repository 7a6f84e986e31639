"""What the rules know of one destination: the backups that can still raise an alert,
and one summary per addon. Pure data.

The store builds it (bot/store/backups.py) from what polls saved, so that the
rules never see a destination's whole history and cost nothing per old backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core.anomalies import CompletedRun
from bot.core.backups import Backup, Ref, Schedule


@dataclass(frozen=True, slots=True)
class KnownBackup:
    backup: Backup
    # When the backup entered its current status, as well as we know: the
    # moment a poll saw it change, or for a backup first seen already
    # finished, its completedAt (else createdAt). History stays history.
    status_since: datetime


@dataclass(frozen=True, slots=True)
class AddonState:
    addon: Ref
    project: Ref | None
    addon_type: str | None
    # The schedules listed by the addon's newest backup that lists any.
    schedules: tuple[Schedule, ...]
    # When the bot first saw any backup of this addon.
    first_seen_at: datetime
    # createdAt of the addon's newest backup, whatever its status.
    last_created_at: datetime
    # The addon's newest completed backup, by createdAt (Northflank's order).
    latest_completed: Backup | None
    # Its last completed backups, oldest first (bot.core.anomalies.RECENT_KEPT):
    # what the anomaly rule compares each new one with.
    recent_completed: tuple[CompletedRun, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class MissedRun:
    """An addon's latest scheduled run, past its grace, with no backup to show for it."""

    addon: Ref
    project: Ref | None
    due: datetime
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class DestinationState:
    destination_id: str
    # Backups that can still raise an alert: unfinished ones, failed or
    # aborted ones that changed recently, completed ones expiring soon.
    backups: tuple[KnownBackup, ...]
    addons: tuple[AddonState, ...]
