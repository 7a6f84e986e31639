"""Small, readable examples of what the store keeps: backups, alerts, watches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from bot.core.alerts import Alert
from bot.core.audit import AuditAction, AuditEntry, AuditOutcome
from bot.core.backups import Backup, BackupStatus, Destination, Ref, Schedule, ScheduleInterval
from bot.core.watches import Event, Watch, WatchSettings
from bot.store import ChannelAlerts, Store, StoredAlert

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
PRIMARY = Destination(id="dest-primary", name="Primary")
SECONDARY = Destination(id="dest-secondary", name="Secondary")
DAILY = Schedule(ScheduleInterval.DAILY, minutes=(0,), hours=(3,))
HOURLY = Schedule(ScheduleInterval.HOURLY, minutes=(15, 45))


def backup(
    backup_id: str,
    status: str = "completed",
    *,
    created_at: datetime = T0,
    completed_at: datetime | None = None,
    expires_at: datetime | None = None,
    addon: str | None = "addon-db",
    addon_name: str | None = None,
    project: str | None = "project-shop",
    schedules: tuple[Schedule, ...] = (),
    size_bytes: int | None = 1024,
    name: str | None = None,
) -> Backup:
    return Backup(
        id=backup_id,
        name=name or f"backup {backup_id}",
        status=BackupStatus.parse(status),
        status_text=status,
        created_at=created_at,
        completed_at=completed_at,
        expires_at=expires_at,
        size_bytes=size_bytes,
        project=Ref(project, f"{project} name") if project else None,
        addon=Ref(addon, addon_name or f"{addon} name") if addon else None,
        addon_type="postgresql" if addon else None,
        addon_version="16" if addon else None,
        schedules=schedules,
    )


def alert(
    event: Event,
    subject: str,
    *,
    occurred_at: datetime = T0,
    resolves: tuple[int, ...] = (),
    destination: Destination = PRIMARY,
    problem: str | None = None,
) -> Alert:
    return Alert(
        event=event,
        subject=subject,
        destination_id=destination.id,
        occurred_at=occurred_at,
        backup=backup(subject, "failed", created_at=occurred_at) if event is Event.FAILED else None,
        addon=Ref("addon-db", "addon-db name"),
        project=Ref("project-shop", "project-shop name"),
        problem=problem,
        resolves=resolves,
    )


async def watching(
    store: Store,
    channel: str = "C-ops",
    destination: Destination = PRIMARY,
    *,
    now: datetime = T0,
    settings: WatchSettings | None = None,
) -> Watch:
    watch, _ = await store.save_watch(
        channel, destination, settings or WatchSettings(), "U-alice", now
    )
    return watch


def digest(watch: Watch, *alerts: Alert, deliver: bool = True) -> ChannelAlerts:
    return ChannelAlerts(watch=watch, digests=[list(alerts)], recoveries=[], deliver=deliver)


def recovery(watch: Watch, *alerts: Alert, deliver: bool = True) -> ChannelAlerts:
    return ChannelAlerts(watch=watch, digests=[], recoveries=list(alerts), deliver=deliver)


async def posts(store: Store, channel: str, *subjects: str) -> list[int]:
    """One post per subject (a failed backup) in `channel`, in order; their outbox ids."""
    watch = await watching(store, channel)
    ids = []
    for subject in subjects:
        result = await store.record_alerts([digest(watch, alert(Event.FAILED, subject))], T0)
        ids += result.outbox_ids
    return ids


async def posted(
    store: Store, watch: Watch, *alerts: Alert, now: datetime = T0, message_ts: str = "1700.01"
) -> list[StoredAlert]:
    """Alerts recorded as one digest and delivered: as buttons and reminders find them."""
    result = await store.record_alerts([digest(watch, *alerts)], now)
    (post,) = result.outbox_ids
    await store.mark_delivered(post, now=now, message_ts=message_ts, alert_ids=result.alert_ids)
    return await store.alerts(result.alert_ids)


def audit_entry(
    action: AuditAction,
    *,
    channel: str = "C-ops",
    user: str = "U-bob",
    target: str = "Primary",
    at: datetime = T0,
    outcome: AuditOutcome = AuditOutcome.DONE,
    detail: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        channel=channel,
        user_id=user,
        action=action,
        target=target,
        at=at,
        outcome=outcome,
        detail=detail,
    )


@asynccontextmanager
async def replica_stores(database_url: str, n: int) -> AsyncIterator[list[Store]]:
    """`n` stores on one database, each with its own pool, as `n` replicas would have."""
    stores = [Store.connect(database_url) for _ in range(n)]
    try:
        yield stores
    finally:
        for opened in stores:
            await opened.close()
