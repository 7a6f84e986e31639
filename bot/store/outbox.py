"""The outbox: messages waiting for Slack, handed out in order per channel."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.watches import WatchState
from bot.store.records import Claim, OutboxItem, OutboxKind, OutboxState
from bot.store.sessions import UsesSessions
from bot.store.tables import AlertRow, OutboxRow, WatchRow

_outbox = OutboxRow.__table__
MAX_ERROR_LENGTH = 500


class OutboxQueries(UsesSessions):
    async def pending_deliveries(
        self, now: datetime, *, claim: Claim | None = None, limit: int = 50
    ) -> list[OutboxItem]:
        """The head of each channel's queue, if it is due (and, with `claim`, not claimed).

        Only the oldest pending row of a channel is ever handed out: a channel
        waiting out a 429 keeps its order, and a later message never overtakes
        an earlier one. With `claim` the heads handed out are claimed for that
        replica, with `FOR UPDATE SKIP LOCKED` as destinations are: another
        replica gets other channels, or nothing, and never the same row.
        """
        query = (
            select(OutboxRow)
            .where(OutboxRow.id.in_(_channel_heads()), OutboxRow.next_attempt_at <= now)
            .order_by(OutboxRow.id)
            .limit(limit)
        )
        if claim is None:
            async with self._sessions.read() as session:
                rows = list(await session.scalars(query))
                return await _with_last_posts(session, rows)
        query = query.where(
            or_(
                OutboxRow.claimed_until.is_(None),
                OutboxRow.claimed_until <= now,
                OutboxRow.claimed_by == claim.owner,
            )
        ).with_for_update(skip_locked=True)
        async with self._sessions.write() as session:
            ids = [row.id for row in await session.scalars(query)]
            if not ids:
                return []
            claimed = await session.scalars(
                update(OutboxRow)
                .where(OutboxRow.id.in_(ids))
                .values(claimed_by=claim.owner, claimed_until=claim.until)
                .returning(OutboxRow),
                execution_options={"populate_existing": True},
            )
            rows = sorted(claimed, key=lambda row: row.id)
            return await _with_last_posts(session, rows)

    async def next_delivery_at(self) -> datetime | None:
        """When the next channel head falls due (only heads: nothing else can go first)."""
        async with self._sessions.read() as session:
            due: datetime | None = await session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(
                    OutboxRow.id.in_(_channel_heads())
                )
            )
            return due

    async def mark_delivered(
        self,
        item_id: int,
        *,
        now: datetime,
        message_ts: str | None = None,
        alert_ids: Sequence[int] = (),
        claim: Claim | None = None,
    ) -> None:
        """Delivered; the alerts it carried remember the message, to edit or thread on it.

        With `claim`, the replica keeps its claim on the channel: the channel's
        next message is claimed for it too (if nobody holds it), so one replica
        goes on posting to a channel and its pacing holds.
        """
        async with self._sessions.write() as session:
            channel = await session.scalar(
                update(_outbox)
                .where(_outbox.c.id == item_id)
                .values(state=OutboxState.DELIVERED.value, delivered_at=now, claimed_until=None)
                .returning(_outbox.c.channel)
            )
            if channel is not None and claim is not None:
                await _pass_claim_on(session, channel, claim, now)
            if channel is None or message_ts is None or not alert_ids:
                return
            # The channel has heard of them now: reminders count from this moment.
            await session.execute(
                update(AlertRow.__table__)
                .where(AlertRow.id.in_(alert_ids))
                .values(message_channel=channel, message_ts=message_ts, last_notified_at=now)
            )

    async def later_updates(self, channel: str, after: int) -> list[OutboxItem]:
        """The channel's pending edits queued after `after`: one re-render covers them.

        An edit renders what the ledger says now, so the edits queued behind it
        (acknowledged, snoozed, resolved) are all shown by it. Read before
        rendering: a row seen here was committed with its change, so the render
        that follows includes that change.
        """
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(OutboxRow)
                .where(
                    OutboxRow.channel == channel,
                    OutboxRow.kind == OutboxKind.UPDATE.value,
                    OutboxRow.state == OutboxState.PENDING.value,
                    OutboxRow.id > after,
                )
                .order_by(OutboxRow.id)
            )
            return [outbox_item(row) for row in rows]

    async def absorb(self, item_ids: Collection[int], *, into: int, now: datetime) -> None:
        """Edits another edit has just made: delivered with it, never sent on their own."""
        if not item_ids:
            return
        async with self._sessions.write() as session:
            await session.execute(
                update(_outbox)
                .where(
                    _outbox.c.id.in_(item_ids),
                    _outbox.c.state == OutboxState.PENDING.value,
                )
                .values(
                    state=OutboxState.DELIVERED.value,
                    delivered_at=now,
                    last_error=f"shown by edit {into}",
                    claimed_until=None,
                )
            )

    async def retry_later(self, item_id: int, *, at: datetime, error: str) -> None:
        async with self._sessions.write() as session:
            await session.execute(
                update(_outbox)
                .where(_outbox.c.id == item_id)
                .values(
                    attempts=_outbox.c.attempts + 1,
                    next_attempt_at=at,
                    last_error=error[:MAX_ERROR_LENGTH],
                    # Free for any replica when it falls due again.
                    claimed_until=None,
                )
            )

    async def park_channel(self, channel: str, reason: str) -> None:
        """The bot cannot post in the channel: hold its messages, and say why on its watches."""
        async with self._sessions.write() as session:
            await session.execute(
                update(_outbox)
                .where(_outbox.c.channel == channel, _outbox.c.state == OutboxState.PENDING.value)
                .values(state=OutboxState.PARKED.value, claimed_until=None)
            )
            watches = WatchRow.__table__
            await session.execute(
                update(watches)
                .where(
                    watches.c.channel == channel,
                    watches.c.state != WatchState.DISABLED.value,
                )
                .values(state=WatchState.BROKEN.value, state_reason=reason)
            )

    async def give_up(self, item_id: int, *, reason: str, now: datetime) -> None:
        """Never to be sent. `next_attempt_at` keeps when that was decided."""
        async with self._sessions.write() as session:
            await session.execute(
                update(_outbox)
                .where(_outbox.c.id == item_id)
                .values(
                    state=OutboxState.FAILED.value,
                    last_error=reason[:MAX_ERROR_LENGTH],
                    next_attempt_at=now,
                    claimed_until=None,
                )
            )

    async def outbox_depth(self) -> int:
        """Messages not yet sent: pending and parked."""
        async with self._sessions.read() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxRow)
                .where(OutboxRow.state.in_((OutboxState.PENDING.value, OutboxState.PARKED.value)))
            )
            return count or 0

    async def outbox_items(self, *, states: Collection[str] | None = None) -> list[OutboxItem]:
        query = select(OutboxRow).order_by(OutboxRow.id)
        if states is not None:
            query = query.where(OutboxRow.state.in_(states))
        async with self._sessions.read() as session:
            return [outbox_item(row) for row in await session.scalars(query)]


async def enqueue(
    session: AsyncSession,
    channel: str,
    kind: OutboxKind,
    alert_ids: Sequence[int],
    parent_alert_id: int | None,
    now: datetime,
    *,
    payload: dict[str, Any] | None = None,
) -> int:
    """A new pending outbox row, due now; its id."""
    row = OutboxRow(
        channel=channel,
        kind=kind.value,
        alert_ids=list(alert_ids),
        parent_alert_id=parent_alert_id,
        payload=payload,
        state=OutboxState.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row.id


async def _pass_claim_on(session: AsyncSession, channel: str, claim: Claim, now: datetime) -> None:
    head = select(func.min(OutboxRow.id)).where(
        OutboxRow.channel == channel, OutboxRow.state == OutboxState.PENDING.value
    )
    # Re-checked after any wait for a row lock (PostgreSQL re-evaluates the WHERE
    # on the row as committed), so a claim another replica just took is left alone.
    await session.execute(
        update(_outbox)
        .where(
            _outbox.c.id == head.scalar_subquery(),
            or_(_outbox.c.claimed_until.is_(None), _outbox.c.claimed_until <= now),
        )
        .values(claimed_by=claim.owner, claimed_until=claim.until)
    )


def _channel_heads() -> Select[tuple[int]]:
    return (
        select(func.min(OutboxRow.id))
        .where(OutboxRow.state == OutboxState.PENDING.value)
        .group_by(OutboxRow.channel)
    )


async def _with_last_posts(session: AsyncSession, rows: Sequence[OutboxRow]) -> list[OutboxItem]:
    """The rows as items, each with when its channel last had a message delivered."""
    channels = {row.channel for row in rows}
    if not channels:
        return []
    last = await session.execute(
        select(OutboxRow.channel, func.max(OutboxRow.delivered_at))
        .where(OutboxRow.channel.in_(channels), OutboxRow.delivered_at.is_not(None))
        .group_by(OutboxRow.channel)
    )
    posted = dict(last.tuples().all())
    return [outbox_item(row, channel_last_post=posted.get(row.channel)) for row in rows]


def outbox_item(row: OutboxRow, *, channel_last_post: datetime | None = None) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        channel=row.channel,
        kind=OutboxKind(row.kind),
        alert_ids=tuple(row.alert_ids),
        parent_alert_id=row.parent_alert_id,
        state=row.state,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        created_at=row.created_at,
        claimed_by=row.claimed_by,
        channel_last_post=channel_last_post,
        payload=row.payload,
    )
