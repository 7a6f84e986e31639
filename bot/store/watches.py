"""Which channels watch which destinations, and with what settings."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update

from bot.core.audit import AuditEntry
from bot.core.backups import Destination
from bot.core.quiet_hours import QuietHours, QuietHoursError
from bot.core.watches import WATCHABLE_EVENTS, Event, Watch, WatchSettings, WatchState
from bot.store.audit import add_audit
from bot.store.outbox import enqueue
from bot.store.records import OutboxKind, OutboxState
from bot.store.sessions import UsesSessions, rowcount
from bot.store.tables import (
    AddonRow,
    AlertRow,
    KnownBackupRow,
    OutboxRow,
    PollStatusRow,
    WatchRow,
)
from bot.store.tenants import in_workspace

log = logging.getLogger(__name__)

_watches = WatchRow.__table__
# The namespace of the advisory locks that make one channel's watch changes take
# turns on PostgreSQL ("watc" in ASCII); the channel's hash is the other key.
_WATCH_LOCKS = 0x77617463


class TooManyWatchesError(Exception):
    """The channel already watches as many destinations as it may; nothing was saved."""

    def __init__(self, count: int) -> None:
        super().__init__(f"the channel already watches {count} destinations")
        self.count = count


class WatchQueries(UsesSessions):
    async def save_watch(
        self,
        channel: str,
        destination: Destination,
        settings: WatchSettings,
        user: str,
        now: datetime,
        *,
        audit: AuditEntry | None = None,
        limit: int | None = None,
    ) -> tuple[Watch, bool]:
        """Start watching, or change how; (the watch, whether it is new).

        Either way the watch is active again and the channel's parked alerts
        go back in line: someone just acted in the channel, so it is worth
        trying to post there again. A new watch beyond `limit` for the
        channel raises TooManyWatchesError: counted inside this transaction,
        with the channel's other watch changes waiting their turn, so
        several `watch` commands at once cannot pass the limit together.
        """
        async with self._sessions.write() as session:
            if self._sessions.dialect == "postgresql":
                # SQLite's write lock, taken at BEGIN, already makes them take turns.
                await session.execute(
                    select(func.pg_advisory_xact_lock(_WATCH_LOCKS, func.hashtext(channel)))
                )
            existing = await session.scalar(_one(channel, destination.id))
            if existing is None and limit is not None:
                count = await session.scalar(
                    select(func.count()).select_from(_watches).where(_watches.c.channel == channel)
                )
                if (count or 0) >= limit:
                    raise TooManyWatchesError(count or 0)
            # Read now: the reload below refreshes this same object in place.
            quiet_before = existing.quiet_hours if existing is not None else None
            changes = {
                "destination_name": destination.name,
                "events": events_text(settings.events),
                "expiry_seconds": round(settings.expiry.total_seconds()),
                "stuck_seconds": round(settings.stuck.total_seconds()),
                "remind_seconds": round(settings.remind.total_seconds()) if settings.remind else 0,
                "quiet_hours": settings.quiet.to_text() if settings.quiet else None,
                "weekly_report": settings.weekly_report,
                "state": WatchState.ACTIVE.value,
                "state_reason": None,
            }
            # An upsert rather than a plain insert, so two people typing `watch`
            # at once both succeed; the first one's started_at stands.
            insert = self._sessions.insert(_watches).values(
                channel=channel,
                destination_id=destination.id,
                started_at=now,
                created_by=user,
                created_at=now,
                **changes,
            )
            await session.execute(
                insert.on_conflict_do_update(
                    index_elements=[_watches.c.channel, _watches.c.destination_id],
                    set_={**changes, "updated_by": user, "updated_at": now},
                )
            )
            await session.execute(
                update(OutboxRow)
                .where(OutboxRow.channel == channel, OutboxRow.state == OutboxState.PARKED.value)
                .values(state=OutboxState.PENDING.value, next_attempt_at=now)
            )
            row = await session.scalar(
                _one(channel, destination.id).execution_options(populate_existing=True)
            )
            assert row is not None
            if existing is not None and quiet_before != row.quiet_hours:
                # New quiet hours (or none): what the old window held goes out now,
                # rather than waiting for an end that no longer applies.
                await session.execute(
                    update(AlertRow)
                    .where(AlertRow.watch_id == row.id, AlertRow.held_until > now)
                    .values(held_until=now)
                )
            if audit is not None:
                add_audit(session, audit)
            return watch_from_row(row), existing is None

    async def remove_watch(
        self, channel: str, destination_id: str, *, audit: AuditEntry | None = None
    ) -> Watch | None:
        """Stop watching. What is known of the destination goes with its last watcher.

        The ledger and the outbox stay: alerts already raised are history,
        and watching again must not raise them a second time.
        """
        async with self._sessions.write() as session:
            row = await session.scalar(_one(channel, destination_id))
            if row is None:
                return None
            removed = watch_from_row(row)
            # Alerts held for its quiet hours are not posted after it stops.
            await session.execute(
                update(AlertRow)
                .where(AlertRow.watch_id == row.id, AlertRow.held_until.is_not(None))
                .values(held_until=None)
            )
            await session.delete(row)
            await session.flush()
            if audit is not None:
                add_audit(session, audit)
            others = await session.scalar(
                select(func.count()).where(WatchRow.destination_id == destination_id)
            )
            if not others:
                for table in (KnownBackupRow, AddonRow, PollStatusRow):
                    await session.execute(
                        delete(table).where(table.destination_id == destination_id)
                    )
            return removed

    async def watch(self, channel: str, destination_id: str) -> Watch | None:
        async with self._sessions.read() as session:
            row = await session.scalar(_one(channel, destination_id))
            return watch_from_row(row) if row is not None else None

    async def watch_by_id(self, watch_id: int) -> Watch | None:
        async with self._sessions.read() as session:
            row = await session.get(WatchRow, watch_id)
            return watch_from_row(row) if row is not None else None

    async def channel_watches(self, channel: str) -> list[Watch]:
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(WatchRow)
                .where(WatchRow.channel == channel)
                .order_by(WatchRow.destination_name, WatchRow.id)
            )
            return [watch_from_row(row) for row in rows]

    async def count_channel_watches(self, channel: str) -> int:
        async with self._sessions.read() as session:
            count = await session.scalar(
                select(func.count()).select_from(WatchRow).where(WatchRow.channel == channel)
            )
            return count or 0

    async def pollable_watches(self) -> list[Watch]:
        """Every watch whose channel can still hear about it (broken ones wait, but count)."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(WatchRow)
                .where(WatchRow.state != WatchState.DISABLED.value)
                .order_by(WatchRow.destination_id, WatchRow.channel)
            )
            return [watch_from_row(row) for row in rows]

    async def every_watch(self) -> list[Watch]:
        """Every watch of every workspace: for the jobs that serve them all (weekly reports)."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(WatchRow).order_by(WatchRow.channel, WatchRow.destination_name, WatchRow.id)
            )
            return [watch_from_row(row) for row in rows]

    async def all_watches(self, *, team: str) -> list[Watch]:
        """Every watch of the workspace, by channel then destination (the Home tab)."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(WatchRow)
                .where(in_workspace(WatchRow.channel, team))
                .order_by(WatchRow.channel, WatchRow.destination_name, WatchRow.id)
            )
            return [watch_from_row(row) for row in rows]

    async def claim_weekly_report(
        self,
        watch: Watch,
        scheduled_for: datetime,
        *,
        note: dict[str, Any] | None,
        now: datetime,
    ) -> int | None:
        """Take the report of the week ending at `scheduled_for` for this watch, and queue
        `note` (None: skipped, while muted) in the same transaction, so a crash between
        the two can neither lose the report nor send it twice. The outbox row's id (0 when
        skipped); None if another replica, or an earlier run, took it already."""
        async with self._sessions.write() as session:
            claimed = await session.execute(
                update(WatchRow)
                .where(
                    WatchRow.id == watch.id,
                    or_(
                        WatchRow.report_sent_for.is_(None),
                        WatchRow.report_sent_for < scheduled_for,
                    ),
                )
                .values(report_sent_for=scheduled_for)
            )
            if rowcount(claimed) != 1:
                return None
            if note is None:
                return 0
            return await enqueue(
                session, watch.channel, OutboxKind.NOTE, (), None, now, payload=note
            )

    async def set_muted_until(
        self,
        channel: str,
        destination_id: str,
        until: datetime | None,
        *,
        audit: AuditEntry | None = None,
    ) -> Watch | None:
        async with self._sessions.write() as session:
            row = await session.scalar(_one(channel, destination_id))
            if row is None:
                return None
            row.muted_until = until
            await session.flush()
            if audit is not None:
                add_audit(session, audit)
            return watch_from_row(row)

    async def set_channel_state(self, channel: str, state: WatchState, reason: str | None) -> int:
        """Every watch in the channel; how many changed."""
        async with self._sessions.write() as session:
            changed = await session.scalars(
                update(_watches)
                .where(
                    _watches.c.channel == channel,
                    (_watches.c.state != state.value)
                    | _watches.c.state_reason.is_distinct_from(reason),
                )
                .values(state=state.value, state_reason=reason)
                .returning(_watches.c.id)
            )
            return len(changed.all())


def _one(channel: str, destination_id: str) -> Select[tuple[WatchRow]]:
    return select(WatchRow).where(
        WatchRow.channel == channel, WatchRow.destination_id == destination_id
    )


def events_text(events: frozenset[Event]) -> str:
    """Comma-separated, in the order `events=` lists them, so rows read predictably."""
    order = {event: index for index, event in enumerate(WATCHABLE_EVENTS)}
    return ",".join(e.value for e in sorted(events, key=lambda e: (order.get(e, len(order)), e)))


def events_from_text(text: str) -> frozenset[Event]:
    return frozenset(Event(part) for part in text.split(",") if part)


def watch_from_row(row: WatchRow) -> Watch:
    return Watch(
        id=row.id,
        channel=row.channel,
        destination_id=row.destination_id,
        destination_name=row.destination_name,
        settings=WatchSettings(
            events=events_from_text(row.events),
            expiry=timedelta(seconds=row.expiry_seconds),
            stuck=timedelta(seconds=row.stuck_seconds),
            remind=timedelta(seconds=row.remind_seconds) if row.remind_seconds else None,
            quiet=_quiet_hours(row),
            weekly_report=row.weekly_report,
        ),
        started_at=row.started_at,
        created_by=row.created_by,
        muted_until=row.muted_until,
        state=WatchState(row.state),
        state_reason=row.state_reason,
        report_sent_for=row.report_sent_for,
    )


def _quiet_hours(row: WatchRow) -> QuietHours | None:
    if not row.quiet_hours:
        return None
    try:
        return QuietHours.from_text(row.quiet_hours)
    except QuietHoursError:
        # A zone this host's time-zone database lacks (an older tzdata than the
        # replica that saved it): alert at all hours rather than fail every poll.
        log.warning(
            "a watch's quiet hours cannot be read here; alerting at all hours",
            extra={"watch": row.id, "channel": row.channel},
        )
        return None
