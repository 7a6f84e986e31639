"""The ledger of alerts raised, and recording new ones with their outbox rows."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.alerts import Alert, Ledger, LedgerEntry, alert_from_json, alert_to_json
from bot.core.handling import StoredAlert
from bot.core.watches import PROBLEM_EVENTS, Event, Watch
from bot.store.outbox import enqueue
from bot.store.records import ChannelAlerts, OutboxKind, RecordResult
from bot.store.sessions import Executor, NamedRow, UsesSessions, inline_strings
from bot.store.tables import AlertRow
from bot.store.tenants import in_workspace

_alerts = AlertRow.__table__
# Problems a later recovery resolves, however long ago they were raised.
_OPEN_PROBLEM_EVENTS = tuple(sorted(e.value for e in PROBLEM_EVENTS | {Event.NORTHFLANK_PROBLEM}))


class LedgerQueries(UsesSessions):
    async def ledger(self, channel: str, destination_id: str, *, since: datetime) -> Ledger:
        """What this channel heard about this destination since `since`, and every open problem."""
        async with self._sessions.read() as session:
            ledgers = await read_ledgers(session, [channel], destination_id, since=since)
        return ledgers[channel]

    async def record_alerts(self, batches: Sequence[ChannelAlerts], now: datetime) -> RecordResult:
        """Ledger rows and the messages that carry them, in one transaction.

        An alert already in the ledger is skipped, so recording the same
        decision twice (a crash between deciding and committing, two replicas
        polling at once) posts nothing twice.
        """
        result = RecordResult(alert_ids=[], outbox_ids=[])
        async with self._sessions.poll_write() as session:
            for batch in batches:
                # (event, subject) -> ledger id of what this batch records, for the
                # recoveries that resolve problems raised in the same evaluation.
                recorded: dict[tuple[str, str], int] = {}
                for group in batch.digests:
                    await self._record_digest(session, batch, group, now, result, recorded)
                if batch.silenced:
                    # Snoozed: in the ledger (so never raised again), never posted.
                    silenced = await self._insert_alerts(
                        session, batch.watch, batch.silenced, now, recorded=recorded
                    )
                    result.alert_ids.extend(silenced)
                for recovery in batch.recoveries:
                    recovery = _with_raised_resolved(recovery, recorded)
                    await self._record_recovery(session, batch, recovery, now, result)
        return result

    async def _record_digest(
        self,
        session: AsyncSession,
        batch: ChannelAlerts,
        group: Sequence[Alert],
        now: datetime,
        result: RecordResult,
        recorded: dict[tuple[str, str], int],
    ) -> None:
        new = await self._insert_alerts(
            session, batch.watch, group, now, held_until=batch.hold_until, recorded=recorded
        )
        result.alert_ids.extend(new)
        # Held for quiet hours: the release at the window's end posts them (followups).
        if batch.deliver and new and batch.hold_until is None:
            post = await enqueue(session, batch.watch.channel, OutboxKind.POST, new, None, now)
            result.outbox_ids.append(post)

    async def _record_recovery(
        self,
        session: AsyncSession,
        batch: ChannelAlerts,
        recovery: Alert,
        now: datetime,
        result: RecordResult,
    ) -> None:
        channel = batch.watch.channel
        new = await self._insert_alerts(
            session, batch.watch, [recovery], now, held_until=batch.hold_until
        )
        if not new:
            return  # recorded by an earlier poll, with its messages
        (recovery_id,) = new
        result.alert_ids.append(recovery_id)
        resolves = list(recovery.resolves)
        if resolves:
            await _resolve(session, channel, resolves, recovery_id, now)
        if batch.deliver and batch.hold_until is None:
            # Threaded under the first problem's message (delivery posts it on
            # its own if that message is unknown).
            parent = resolves[0] if resolves else None
            reply = await enqueue(
                session, channel, OutboxKind.THREAD_REPLY, [recovery_id], parent, now
            )
            result.outbox_ids.append(reply)
        if resolves:
            # Even when muted: an edit notifies nobody, and the old message
            # should not go on saying there is a problem.
            edit = await enqueue(session, channel, OutboxKind.UPDATE, resolves, None, now)
            result.outbox_ids.append(edit)

    async def alerts(self, ids: Collection[int]) -> list[StoredAlert]:
        if not ids:
            return []
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(AlertRow).where(AlertRow.id.in_(ids)).order_by(AlertRow.id)
            )
            return [stored_alert(row) for row in rows]

    async def open_problems(self, *, team: str, limit: int) -> tuple[list[StoredAlert], int]:
        """Unresolved problems in every channel of the workspace, newest first (up to
        `limit`), and how many there are in all (the Home tab)."""
        a = AlertRow
        still_open = and_(
            a.resolved_at.is_(None),
            a.event.in_(_OPEN_PROBLEM_EVENTS),
            in_workspace(a.channel, team),
        )
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(a).where(still_open).order_by(a.created_at.desc(), a.id.desc()).limit(limit)
            )
            shown = [stored_alert(row) for row in rows]
            total = await session.scalar(select(func.count()).select_from(a).where(still_open))
            return shown, total or 0

    async def open_problem_counts(self, *, team: str) -> dict[tuple[str, str], int]:
        """Unresolved problems per (channel, destination) of the workspace."""
        a = AlertRow
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(a.channel, a.destination_id, func.count())
                .where(
                    a.resolved_at.is_(None),
                    a.event.in_(_OPEN_PROBLEM_EVENTS),
                    in_workspace(a.channel, team),
                )
                .group_by(a.channel, a.destination_id)
            )
            return {(channel, destination): count for channel, destination, count in rows.tuples()}

    async def message_alerts(self, channel: str, message_ts: str) -> list[StoredAlert]:
        """Every alert one Slack message shows, to render it again."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(AlertRow)
                .where(AlertRow.message_channel == channel, AlertRow.message_ts == message_ts)
                .order_by(AlertRow.id)
            )
            return [stored_alert(row) for row in rows]

    async def _insert_alerts(
        self,
        session: AsyncSession,
        watch: Watch,
        alerts: Sequence[Alert],
        now: datetime,
        *,
        held_until: datetime | None = None,
        recorded: dict[tuple[str, str], int] | None = None,
    ) -> list[int]:
        """Ledger rows for the alerts not yet raised; their new ids, in the alerts' order.

        `recorded`, when given, learns each new row's (event, subject) and id.
        """
        seen: set[tuple[str, str]] = set()
        ordered: list[Alert] = []
        for alert in alerts:
            if (alert.event.value, alert.subject) not in seen:
                seen.add((alert.event.value, alert.subject))
                ordered.append(alert)
        if not ordered:
            return []
        statement = (
            self._sessions.insert(_alerts)
            .values(
                [
                    {
                        "channel": watch.channel,
                        "destination_id": watch.destination_id,
                        "watch_id": watch.id,
                        "event": alert.event.value,
                        "subject": alert.subject,
                        "addon_id": alert.addon_id,
                        "occurred_at": alert.occurred_at,
                        "began_at": alert.began_at,
                        "created_at": now,
                        "details": alert_to_json(alert),
                        "held_until": held_until,
                    }
                    for alert in ordered
                ]
            )
            .on_conflict_do_nothing(
                index_elements=[
                    _alerts.c.channel,
                    _alerts.c.destination_id,
                    _alerts.c.event,
                    _alerts.c.subject,
                ]
            )
            .returning(_alerts.c.id, _alerts.c.event, _alerts.c.subject)
        )
        inserted = {
            (event, subject): id_ for id_, event, subject in (await session.execute(statement))
        }
        if recorded is not None:
            recorded.update(inserted)
        return [
            inserted[key]
            for alert in ordered
            if (key := (alert.event.value, alert.subject)) in inserted
        ]


def _with_raised_resolved(recovery: Alert, recorded: dict[tuple[str, str], int]) -> Alert:
    """The recovery, resolving by id the problems raised with it (now recorded)."""
    if not recovery.resolves_raised:
        return recovery
    raised = [
        recorded[(e.value, s)] for e, s in recovery.resolves_raised if (e.value, s) in recorded
    ]
    return replace(
        recovery, resolves=tuple(sorted({*recovery.resolves, *raised})), resolves_raised=()
    )


async def _resolve(
    session: AsyncSession, channel: str, ids: Sequence[int], by: int, now: datetime
) -> None:
    # Only this channel's entries: an id from elsewhere must not close another channel's problem.
    await session.execute(
        update(_alerts)
        .where(
            _alerts.c.id.in_(ids),
            _alerts.c.channel == channel,
            _alerts.c.resolved_at.is_(None),
        )
        .values(resolved_at=now, resolved_by=by)
    )


def stored_alert(row: AlertRow) -> StoredAlert:
    return StoredAlert(
        id=row.id,
        channel=row.channel,
        destination_id=row.destination_id,
        watch_id=row.watch_id,
        alert=alert_from_json(row.details),
        message_ts=row.message_ts,
        resolved_at=row.resolved_at,
        created_at=row.created_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        last_notified_at=row.last_notified_at,
        held_until=row.held_until,
    )


def ledger_entries(
    channels: Any, destination: ColumnElement[Any], since: ColumnElement[Any]
) -> Select[Any]:
    """The entries of `channels`' ledgers (anything `IN` takes) a poll reads, by id."""
    return (
        select(
            _alerts.c.channel,
            _alerts.c.id,
            _alerts.c.event,
            _alerts.c.subject,
            _alerts.c.addon_id,
            _alerts.c.occurred_at,
            _alerts.c.resolved_at,
            _alerts.c.began_at,
        )
        .where(
            _alerts.c.channel.in_(channels),
            _alerts.c.destination_id == destination,
            or_(
                _alerts.c.created_at >= since,
                # Older entries matter only while they are open problems. (An
                # expiry warning or a recovery is never resolved; taking those
                # too would make every poll read the channel's whole history.)
                and_(
                    _alerts.c.resolved_at.is_(None),
                    _alerts.c.event.in_(inline_strings(_OPEN_PROBLEM_EVENTS)),
                ),
            ),
        )
        .order_by(_alerts.c.id)
    )


# Run on every poll: built once (see bot/store/destination_reads.py).
_LEDGERS = ledger_entries(
    bindparam("channels", expanding=True), bindparam("destination_id"), bindparam("since")
)


async def read_ledgers(
    session: Executor, channels: Collection[str], destination_id: str, *, since: datetime
) -> dict[str, Ledger]:
    """`ledger` for several channels at once, in one query; every channel has one."""
    rows = await session.execute(
        _LEDGERS,
        {"channels": list(channels), "destination_id": destination_id, "since": since},
    )
    return ledgers_of(channels, rows)


def ledgers_of(channels: Collection[str], rows: Iterable[NamedRow]) -> dict[str, Ledger]:
    """Each channel's ledger from the rows of `ledger_entries`; rows of other channels
    are passed over."""
    by_channel: dict[str, list[NamedRow]] = {channel: [] for channel in channels}
    for row in rows:
        entries = by_channel.get(row.channel)
        if entries is not None:
            entries.append(row)
    return {channel: _ledger_of(entries) for channel, entries in by_channel.items()}


def _ledger_of(entries: Sequence[NamedRow]) -> Ledger:
    return Ledger(
        raised=frozenset((Event(row.event), row.subject) for row in entries),
        open_problems=tuple(
            LedgerEntry(
                id=row.id,
                event=Event(row.event),
                subject=row.subject,
                addon_id=row.addon_id,
                occurred_at=row.occurred_at,
                began_at=row.began_at,
            )
            for row in entries
            if row.resolved_at is None and row.event in _OPEN_PROBLEM_EVENTS
        ),
    )
