"""What the bot knows of each destination's backups, and the per-addon summaries.

A poll saves every page it reads. The rules then see only what can still
raise an alert (`destination_state`), so their cost does not grow with a
destination's history.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.backups import Backup, BackupStatus, Ref, Schedule, ScheduleInterval
from bot.core.rules import AddonState, DestinationState, KnownBackup
from bot.core.watches import DestinationSummary
from bot.store.records import SaveResult
from bot.store.sessions import UsesSessions
from bot.store.tables import AddonRow, KnownBackupRow

_known = KnownBackupRow.__table__
_addons = AddonRow.__table__
_FINAL = tuple(status.value for status in BackupStatus if status.is_final)
_FAILED = (BackupStatus.FAILED.value, BackupStatus.ABORTED.value)
# Rows per INSERT: far below both databases' limits on bound parameters.
_CHUNK = 500

T = TypeVar("T")


class BackupQueries(UsesSessions):
    async def forget_backups(self, destination_id: str, backup_ids: Collection[str]) -> int:
        """Drop backups Northflank no longer lists (deleted), so no poll chases them."""
        if not backup_ids:
            return 0
        async with self._sessions.write() as session:
            result = await session.execute(
                delete(_known).where(
                    _known.c.destination_id == destination_id,
                    _known.c.backup_id.in_(list(backup_ids)),
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def known_statuses(
        self, destination_id: str, backup_ids: Collection[str]
    ) -> dict[str, str]:
        """Stored status text by backup id, for those of `backup_ids` already known."""
        async with self._sessions.read() as session:
            return await _stored_statuses(session, destination_id, backup_ids)

    async def save_backups(
        self, destination_id: str, backups: Sequence[Backup], now: datetime
    ) -> SaveResult:
        """Remember a page of backups: a handful of statements, however long the page."""
        by_id: dict[str, Backup] = {}
        for backup in backups:
            by_id.setdefault(backup.id, backup)
        if not by_id:
            return SaveResult(new=0, changed=0)
        async with self._sessions.write() as session:
            known = await _stored_statuses(session, destination_id, by_id)
            # One statement, executed for many rows: compiled once and cached,
            # where `.values([...])` would compile a new statement every page.
            await session.execute(
                self._upsert_backups(),
                [_backup_row(destination_id, backup, now) for backup in by_id.values()],
            )
            addon_rows = _addon_rows(destination_id, by_id.values(), now)
            if addon_rows:
                await session.execute(self._upsert_addons(), addon_rows)
        changed = sum(1 for b in by_id.values() if b.id in known and known[b.id] != b.status_text)
        return SaveResult(new=len(by_id) - len(known), changed=changed, known_before=known)

    def _upsert_backups(self) -> Any:
        insert = self._sessions.insert(_known)
        new = insert.excluded
        refreshed: dict[str, Any] = {
            column.name: new[column.name]
            for column in _known.c
            if column.name not in {"destination_id", "backup_id", "first_seen_at", "status_since"}
        }
        # Decided in SQL against the row as it is now, not as it was read a moment
        # ago, so a concurrent poll of the same destination cannot confuse it.
        # A changed status dates from now, the save's time, which every row
        # carries as its first_seen_at.
        refreshed["status_since"] = case(
            (_known.c.status == new.status, _known.c.status_since),
            else_=new.first_seen_at,
        )
        return insert.on_conflict_do_update(
            index_elements=[_known.c.destination_id, _known.c.backup_id], set_=refreshed
        )

    def _upsert_addons(self) -> Any:
        insert = self._sessions.insert(_addons)
        new, old = insert.excluded, _addons.c
        newer = new.last_created_at >= old.last_created_at
        newer_schedules = and_(
            new.schedules_created_at.is_not(None),
            or_(
                old.schedules_created_at.is_(None),
                new.schedules_created_at >= old.schedules_created_at,
            ),
        )
        newer_completed = and_(
            new.latest_completed_created_at.is_not(None),
            or_(
                old.latest_completed_created_at.is_(None),
                new.latest_completed_created_at >= old.latest_completed_created_at,
            ),
        )

        def pick(condition: ColumnElement[bool], name: str) -> Any:
            return case((condition, new[name]), else_=old[name])

        return insert.on_conflict_do_update(
            index_elements=[old.destination_id, old.addon_id],
            set_={
                # Names as the API calls them now: renames show up at once.
                "addon_name": new.addon_name,
                "project_id": func.coalesce(new.project_id, old.project_id),
                "project_name": func.coalesce(new.project_name, old.project_name),
                "addon_type": func.coalesce(new.addon_type, old.addon_type),
                "schedules": pick(newer_schedules, "schedules"),
                "schedules_created_at": pick(newer_schedules, "schedules_created_at"),
                "first_seen_at": pick(new.first_seen_at < old.first_seen_at, "first_seen_at"),
                "last_created_at": pick(newer, "last_created_at"),
                "latest_backup_id": pick(newer, "latest_backup_id"),
                "latest_completed_id": pick(newer_completed, "latest_completed_id"),
                "latest_completed_created_at": pick(newer_completed, "latest_completed_created_at"),
            },
        )

    async def destination_state(
        self,
        destination_id: str,
        now: datetime,
        *,
        lookback: timedelta,
        horizon: timedelta,
    ) -> DestinationState:
        """The backups that can still raise an alert, and every addon's summary."""
        k = KnownBackupRow
        can_alert = or_(
            k.status.not_in(_FINAL),
            and_(k.status.in_(_FAILED), k.status_since >= now - lookback),
            and_(
                k.status == BackupStatus.COMPLETED.value,
                k.expires_at > now,
                k.expires_at <= now + horizon,
            ),
        )
        async with self._sessions.read() as session:
            backups = await session.scalars(
                select(k)
                .where(k.destination_id == destination_id, can_alert)
                .order_by(k.created_at.desc(), k.backup_id)
            )
            known = tuple(KnownBackup(backup_from_row(row), row.status_since) for row in backups)
            addons = await session.execute(
                select(AddonRow, k)
                .outerjoin(
                    k,
                    and_(
                        k.destination_id == AddonRow.destination_id,
                        k.backup_id == AddonRow.latest_completed_id,
                    ),
                )
                .where(AddonRow.destination_id == destination_id)
                .order_by(AddonRow.addon_name, AddonRow.addon_id)
            )
            return DestinationState(
                destination_id=destination_id,
                backups=known,
                addons=tuple(
                    _addon_state(addon, completed) for addon, completed in addons.tuples()
                ),
            )

    async def destination_summary(
        self, destination_id: str, now: datetime, *, complete: bool
    ) -> DestinationSummary:
        k = KnownBackupRow
        async with self._sessions.read() as session:
            counted = await session.execute(
                select(k.status, func.count())
                .where(k.destination_id == destination_id)
                .group_by(k.status)
            )
            counts = dict(counted.tuples().all())
            failing = await session.scalars(
                select(k)
                .join(
                    AddonRow,
                    and_(
                        AddonRow.destination_id == k.destination_id,
                        AddonRow.latest_backup_id == k.backup_id,
                    ),
                )
                .where(k.destination_id == destination_id, k.status.in_(_FAILED))
                .order_by(k.created_at.desc(), k.backup_id)
            )
            failing_backups = tuple(backup_from_row(row) for row in failing)
            expiring = await session.scalars(
                select(k)
                .where(
                    k.destination_id == destination_id,
                    k.status == BackupStatus.COMPLETED.value,
                    k.expires_at > now,
                )
                .order_by(k.expires_at, k.backup_id)
                .limit(3)
            )
            return DestinationSummary(
                total=sum(counts.values()),
                counts=counts,
                failing=failing_backups,
                next_expiries=tuple(backup_from_row(row) for row in expiring),
                complete=complete,
            )


async def _stored_statuses(
    session: AsyncSession, destination_id: str, backup_ids: Collection[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(list(backup_ids)):
        rows = await session.execute(
            select(KnownBackupRow.backup_id, KnownBackupRow.status).where(
                KnownBackupRow.destination_id == destination_id,
                KnownBackupRow.backup_id.in_(chunk),
            )
        )
        found.update(rows.tuples().all())
    return found


def _chunks(items: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _backup_row(destination_id: str, backup: Backup, now: datetime) -> dict[str, Any]:
    return {
        "destination_id": destination_id,
        "backup_id": backup.id,
        "name": backup.name,
        "status": backup.status_text,
        "status_since": _first_status_since(backup),
        "first_seen_at": now,
        "created_at": backup.created_at,
        "completed_at": backup.completed_at,
        "expires_at": backup.expires_at,
        "size_bytes": backup.size_bytes,
        "addon_id": backup.addon.id if backup.addon else None,
        "addon_name": backup.addon.name if backup.addon else None,
        "addon_type": backup.addon_type,
        "addon_version": backup.addon_version,
        "project_id": backup.project.id if backup.project else None,
        "project_name": backup.project.name if backup.project else None,
        "schedules": schedules_to_json(backup.schedules),
    }


def _first_status_since(backup: Backup) -> datetime:
    """A backup first seen already finished changed status long ago: history, not news."""
    if backup.status.is_final:
        return backup.completed_at or backup.created_at
    return backup.created_at


def _addon_rows(
    destination_id: str, backups: Iterable[Backup], now: datetime
) -> list[dict[str, Any]]:
    """One row per addon on the page, summarising what this page says of it."""
    by_addon: dict[str, list[Backup]] = {}
    for backup in backups:
        if backup.addon is not None:
            by_addon.setdefault(backup.addon.id, []).append(backup)
    rows = []
    for addon_id, page in by_addon.items():
        newest = max(page, key=lambda b: b.created_at)
        completed = [b for b in page if b.status is BackupStatus.COMPLETED]
        latest_completed = max(completed, key=lambda b: b.created_at, default=None)
        scheduled = [b for b in page if b.schedules]
        with_schedules = max(scheduled, key=lambda b: b.created_at, default=None)
        assert newest.addon is not None
        rows.append(
            {
                "destination_id": destination_id,
                "addon_id": addon_id,
                "addon_name": newest.addon.name,
                "project_id": newest.project.id if newest.project else None,
                "project_name": newest.project.name if newest.project else None,
                "addon_type": newest.addon_type,
                "schedules": schedules_to_json(with_schedules.schedules if with_schedules else ()),
                "schedules_created_at": with_schedules.created_at if with_schedules else None,
                "first_seen_at": now,
                "last_created_at": newest.created_at,
                "latest_backup_id": newest.id,
                "latest_completed_id": latest_completed.id if latest_completed else None,
                "latest_completed_created_at": (
                    latest_completed.created_at if latest_completed else None
                ),
            }
        )
    return rows


def _addon_state(row: AddonRow, latest_completed: KnownBackupRow | None) -> AddonState:
    return AddonState(
        addon=Ref(row.addon_id, row.addon_name),
        project=_ref(row.project_id, row.project_name),
        addon_type=row.addon_type,
        schedules=schedules_from_json(row.schedules),
        first_seen_at=row.first_seen_at,
        last_created_at=row.last_created_at,
        latest_completed=backup_from_row(latest_completed) if latest_completed else None,
    )


def backup_from_row(row: KnownBackupRow) -> Backup:
    return Backup(
        id=row.backup_id,
        name=row.name,
        status=BackupStatus.parse(row.status),
        status_text=row.status,
        created_at=row.created_at,
        completed_at=row.completed_at,
        expires_at=row.expires_at,
        size_bytes=row.size_bytes,
        project=_ref(row.project_id, row.project_name),
        addon=_ref(row.addon_id, row.addon_name),
        addon_type=row.addon_type,
        addon_version=row.addon_version,
        schedules=schedules_from_json(row.schedules),
    )


def _ref(ref_id: str | None, name: str | None) -> Ref | None:
    return Ref(ref_id, name or ref_id) if ref_id else None


# The API's own shape for a schedule, so the JSON reads like what Northflank sent.
def schedules_to_json(schedules: Iterable[Schedule]) -> list[dict[str, Any]]:
    return [
        {
            "interval": s.interval.value,
            "minute": list(s.minutes),
            "hour": list(s.hours),
            "day": list(s.days),
        }
        for s in schedules
    ]


def schedules_from_json(data: Any) -> tuple[Schedule, ...]:
    return tuple(
        Schedule(
            interval=ScheduleInterval(item["interval"]),
            minutes=tuple(item.get("minute", ())),
            hours=tuple(item.get("hour", ())),
            days=tuple(item.get("day", ())),
        )
        for item in data or ()
    )
