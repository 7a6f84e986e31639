"""What buttons on alerts change: acknowledgements, snoozes and write actions.

Each is one conditional statement, so a double click, or the same click
handled by two replicas at once, changes things once: the second finds the
change made and reports who made it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.audit import AuditEntry
from bot.core.handling import (
    Acknowledgement,
    Snooze,
    SnoozeResult,
    StoredAlert,
    WriteClaim,
    WriteState,
)
from bot.core.watches import Event
from bot.store.audit import add_audit
from bot.store.ledger import stored_alert
from bot.store.outbox import enqueue
from bot.store.records import OutboxKind
from bot.store.sessions import Executor, NamedRow, UsesSessions
from bot.store.tables import AlertActionRow, AlertRow, SnoozeRow

_alerts = AlertRow.__table__
_snoozes = SnoozeRow.__table__
_actions = AlertActionRow.__table__
# A snooze at most this much shorter than one already in place is "the same
# snooze": a double click must not move its end, nor write the audit twice.
SAME_SNOOZE = timedelta(minutes=1)


class InteractionQueries(UsesSessions):
    async def alert(self, alert_id: int) -> StoredAlert | None:
        async with self._sessions.read() as session:
            row = await session.get(AlertRow, alert_id)
            return stored_alert(row) if row is not None else None

    async def acknowledge(
        self, alert_id: int, *, user_id: str, now: datetime, audit: AuditEntry
    ) -> Acknowledgement | None:
        """Record the acknowledgement and re-render its message; None if no such alert."""
        async with self._sessions.write() as session:
            taken = await session.execute(
                update(_alerts)
                .where(_alerts.c.id == alert_id, _alerts.c.acknowledged_at.is_(None))
                .values(acknowledged_by=user_id, acknowledged_at=now)
                .returning(_alerts.c.channel)
            )
            channel = taken.scalar_one_or_none()
            if channel is not None:
                add_audit(session, audit)
                await enqueue(session, channel, OutboxKind.UPDATE, [alert_id], None, now)
                return Acknowledgement(new=True, by=user_id, at=now)
            row = await session.get(AlertRow, alert_id)
            if row is None or row.acknowledged_by is None or row.acknowledged_at is None:
                return None
            return Acknowledgement(new=False, by=row.acknowledged_by, at=row.acknowledged_at)

    async def snooze(
        self, snooze: Snooze, *, alert_id: int, now: datetime, audit: AuditEntry
    ) -> SnoozeResult:
        """Quiet this event on this addon in this channel until `snooze.until`.

        A longer snooze replaces a shorter one; an equal or shorter one
        changes nothing (so a double click is harmless) and says what holds.
        """
        values = {
            "channel": snooze.channel,
            "destination_id": snooze.destination_id,
            "addon_id": snooze.addon_id,
            "event": snooze.event.value,
        }
        async with self._sessions.write() as session:
            insert = self._sessions.insert(_snoozes).values(
                **values,
                until=snooze.until,
                created_by=snooze.created_by,
                created_at=snooze.created_at,
            )
            changed = await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[
                        _snoozes.c.channel,
                        _snoozes.c.destination_id,
                        _snoozes.c.addon_id,
                        _snoozes.c.event,
                    ],
                    set_={
                        "until": snooze.until,
                        "created_by": snooze.created_by,
                        "created_at": snooze.created_at,
                    },
                    where=_snoozes.c.until < snooze.until - SAME_SNOOZE,
                ).returning(_snoozes.c.id)
            )
            if changed.first() is not None:
                add_audit(session, audit)
                await enqueue(session, snooze.channel, OutboxKind.UPDATE, [alert_id], None, now)
                return SnoozeResult(new=True, snooze=snooze)
            row = await session.scalar(
                select(SnoozeRow).where(*(getattr(SnoozeRow, k) == v for k, v in values.items()))
            )
            assert row is not None  # the conflict that stopped the insert
            return SnoozeResult(new=False, snooze=snooze_from_row(row))

    async def active_snoozes(
        self, channel: str, now: datetime, *, destination_id: str | None = None
    ) -> list[Snooze]:
        query = select(SnoozeRow).where(SnoozeRow.channel == channel, SnoozeRow.until > now)
        if destination_id is not None:
            query = query.where(SnoozeRow.destination_id == destination_id)
        async with self._sessions.read() as session:
            return [snooze_from_row(row) for row in await session.scalars(query)]

    async def snoozes_in(self, channels: Collection[str], now: datetime) -> list[Snooze]:
        if not channels:
            return []
        async with self._sessions.read() as session:
            return await read_snoozes(session, channels, now)

    # ----- write actions ---------------------------------------------------------------

    async def claim_write(
        self, alert_id: int, action: str, *, user_id: str, now: datetime, stale_after: timedelta
    ) -> WriteClaim:
        """Take the write for this alert, unless it is running or done.

        A failed write may be tried again (the permission may have been fixed
        meanwhile), and so may one left 'running' for `stale_after` by a
        replica that died half-way.
        """
        mine = {
            "state": WriteState.RUNNING.value,
            "user_id": user_id,
            "started_at": now,
            "finished_at": None,
            "result": None,
        }
        async with self._sessions.write() as session:
            insert = self._sessions.insert(_actions).values(
                alert_id=alert_id, action=action, **mine
            )
            taken = await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[_actions.c.alert_id, _actions.c.action],
                    set_=mine,
                    where=or_(
                        _actions.c.state == WriteState.FAILED.value,
                        and_(
                            _actions.c.state == WriteState.RUNNING.value,
                            _actions.c.started_at < now - stale_after,
                        ),
                    ),
                ).returning(_actions.c.alert_id)
            )
            if taken.first() is not None:
                return WriteClaim(
                    ours=True, state=WriteState.RUNNING, user_id=user_id, started_at=now
                )
            row = await session.get(AlertActionRow, (alert_id, action))
            assert row is not None
            return WriteClaim(
                ours=False,
                state=WriteState(row.state),
                user_id=row.user_id,
                started_at=row.started_at,
                finished_at=row.finished_at,
                result=row.result,
            )

    async def finish_write(
        self,
        alert_id: int,
        action: str,
        *,
        ok: bool,
        result: str,
        now: datetime,
        audit: AuditEntry,
        thread_note: dict[str, Any],
        channel: str,
    ) -> None:
        """The write's outcome, its audit entry and its thread reply, in one transaction."""
        async with self._sessions.write() as session:
            await session.execute(
                update(_actions)
                .where(_actions.c.alert_id == alert_id, _actions.c.action == action)
                .values(
                    state=(WriteState.DONE if ok else WriteState.FAILED).value,
                    finished_at=now,
                    result=result[:500],
                )
            )
            add_audit(session, audit)
            await enqueue_note(session, channel, thread_note, parent_alert_id=alert_id, now=now)


async def enqueue_note(
    session: AsyncSession,
    channel: str,
    note: dict[str, Any],
    *,
    parent_alert_id: int | None,
    now: datetime,
) -> int:
    """A prepared message, threaded under the parent alert's message when it has one."""
    return await enqueue(session, channel, OutboxKind.NOTE, [], parent_alert_id, now, payload=note)


def snooze_from_row(row: SnoozeRow | NamedRow) -> Snooze:
    return Snooze(
        channel=row.channel,
        destination_id=row.destination_id,
        addon_id=row.addon_id,
        event=Event(row.event),
        until=row.until,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def running_snoozes(channels: Any, now: ColumnElement[Any]) -> Select[Any]:
    """The snoozes of `channels` (anything `IN` takes) still running at `now`."""
    snoozes = SnoozeRow.__table__
    return select(snoozes).where(snoozes.c.channel.in_(channels), snoozes.c.until > now)


# Run on every poll: built once (see bot/store/destination_reads.py).
_SNOOZES_IN = running_snoozes(bindparam("channels", expanding=True), bindparam("now"))


async def read_snoozes(session: Executor, channels: Collection[str], now: datetime) -> list[Snooze]:
    """`snoozes_in`, within a session the caller holds."""
    if not channels:
        return []
    rows = await session.execute(_SNOOZES_IN, {"channels": list(channels), "now": now})
    return [snooze_from_row(row) for row in rows]
