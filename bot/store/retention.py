"""Deleting what the bot no longer needs, a small batch per transaction.

Each purge deletes at most BATCH rows per statement and commits, so that a
year's backlog on first run never holds a lock for long, and the caller
(bot/services/retention.py) loops until a batch comes back short. What must
survive is kept by the queries themselves: an open problem, however old
(a recovery may still come); an alert about a backup Northflank still lists
(the rules' dedup key for it); a message not yet delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, or_, select, update

from bot.core.watches import PROBLEM_EVENTS, Event
from bot.store.records import OutboxState
from bot.store.sessions import UsesSessions, rowcount
from bot.store.tables import (
    AlertActionRow,
    AlertRow,
    AuditRow,
    KnownBackupRow,
    OutboxRow,
    SnoozeRow,
    metadata,
)

BATCH = 500
_STILL_OPEN_WHEN_UNRESOLVED = tuple(
    sorted(e.value for e in PROBLEM_EVENTS | {Event.NORTHFLANK_PROBLEM})
)
_UNSENT = (OutboxState.PENDING.value, OutboxState.PARKED.value)


class RetentionQueries(UsesSessions):
    async def purge_outbox(self, before: datetime) -> int:
        """Messages delivered, or given up on, before `before`."""
        o = OutboxRow
        done = or_(
            and_(o.state == OutboxState.DELIVERED.value, o.delivered_at < before),
            and_(o.state == OutboxState.FAILED.value, o.next_attempt_at < before),
        )
        async with self._sessions.write() as session:
            ids = list(await session.scalars(select(o.id).where(done).order_by(o.id).limit(BATCH)))
            if ids:
                await session.execute(delete(o).where(o.id.in_(ids)))
            return len(ids)

    async def purge_alerts(self, before: datetime) -> int:
        """Ledger rows raised before `before` that nothing needs any more, with their actions.

        Kept however old: an unresolved problem (its recovery may still come),
        an alert about a backup the store still knows (Northflank may still list
        it, and the rules must not raise it again), and one a message not yet
        sent threads under.
        """
        a, k, o = AlertRow, KnownBackupRow, OutboxRow
        backup_still_known = exists().where(
            k.destination_id == a.destination_id, k.backup_id == a.subject
        )
        awaited = exists().where(o.parent_alert_id == a.id, o.state.in_(_UNSENT))
        done = or_(a.resolved_at.is_not(None), a.event.not_in(_STILL_OPEN_WHEN_UNRESOLVED))
        async with self._sessions.write() as session:
            ids = list(
                await session.scalars(
                    select(a.id)
                    .where(a.created_at < before, done, ~backup_still_known, ~awaited)
                    .order_by(a.id)
                    .limit(BATCH)
                )
            )
            if not ids:
                return 0
            # What points at them goes first: the foreign keys say so.
            await session.execute(delete(AlertActionRow).where(AlertActionRow.alert_id.in_(ids)))
            await session.execute(
                update(o).where(o.parent_alert_id.in_(ids)).values(parent_alert_id=None)
            )
            await session.execute(update(a).where(a.resolved_by.in_(ids)).values(resolved_by=None))
            await session.execute(delete(a).where(a.id.in_(ids)))
            return len(ids)

    async def purge_expired_backups(self, before: datetime) -> int:
        """Backups that expired before `before`: Northflank deleted them long ago."""
        k = KnownBackupRow
        async with self._sessions.write() as session:
            keys = (
                (
                    await session.execute(
                        select(k.destination_id, k.backup_id)
                        .where(k.expires_at < before)
                        .order_by(k.expires_at)
                        .limit(BATCH)
                    )
                )
                .tuples()
                .all()
            )
            for destination_id, backup_ids in _by_destination(keys).items():
                await session.execute(
                    delete(k).where(k.destination_id == destination_id, k.backup_id.in_(backup_ids))
                )
            return len(keys)

    async def purge_audit(self, before: datetime) -> int:
        async with self._sessions.write() as session:
            ids = list(
                await session.scalars(
                    select(AuditRow.id)
                    .where(AuditRow.at < before)
                    .order_by(AuditRow.id)
                    .limit(BATCH)
                )
            )
            if ids:
                await session.execute(delete(AuditRow).where(AuditRow.id.in_(ids)))
            return len(ids)

    async def purge_snoozes(self, before: datetime) -> int:
        """Snoozes that ended before `before`."""
        async with self._sessions.write() as session:
            result = await session.execute(delete(SnoozeRow).where(SnoozeRow.until < before))
            return rowcount(result)

    async def row_counts(self) -> dict[str, int]:
        """Rows in every table: what retention keeps flat."""
        async with self._sessions.read() as session:
            return {
                name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in sorted(metadata.tables.items())
            }


def _by_destination(keys: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for destination_id, backup_id in keys:
        grouped.setdefault(destination_id, []).append(backup_id)
    return grouped
