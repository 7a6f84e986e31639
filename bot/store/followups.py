"""What happens to alerts after they are posted: reminders, and the release of held ones.

Both are claimed with a conditional update, so with several replicas each
reminder and each held alert is enqueued by one of them only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from bot.core.handling import ReminderCandidate, StoredAlert
from bot.core.watches import REMINDED_EVENTS, WatchState
from bot.store.interactions import enqueue_note
from bot.store.ledger import stored_alert
from bot.store.outbox import enqueue
from bot.store.records import OutboxKind
from bot.store.sessions import UsesSessions
from bot.store.tables import AlertRow, WatchRow
from bot.store.watches import watch_from_row

_alerts = AlertRow.__table__
_REMINDED = tuple(sorted(event.value for event in REMINDED_EVENTS))


class FollowupQueries(UsesSessions):
    async def reminder_candidates(self) -> list[ReminderCandidate]:
        """Open, unacknowledged, posted failed/stuck/missed alerts of watches that remind.

        Few rows: a problem stops being a candidate once it is resolved or
        acknowledged. Whether one is due is the pure rules' decision.
        """
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(AlertRow, WatchRow)
                .join(WatchRow, WatchRow.id == AlertRow.watch_id)
                .where(
                    AlertRow.event.in_(_REMINDED),
                    AlertRow.resolved_at.is_(None),
                    AlertRow.acknowledged_at.is_(None),
                    AlertRow.message_ts.is_not(None),
                    AlertRow.held_until.is_(None),
                    WatchRow.remind_seconds > 0,
                    WatchRow.state == WatchState.ACTIVE.value,
                )
                .order_by(AlertRow.id)
            )
            return [
                ReminderCandidate(stored_alert(alert), watch_from_row(watch))
                for alert, watch in rows.tuples()
            ]

    async def record_reminder(
        self,
        channel: str,
        alerts: Sequence[StoredAlert],
        note: dict[str, Any],
        *,
        now: datetime,
    ) -> bool:
        """Queue a reminder for these alerts (one message) unless another replica just did.

        Each alert's `last_notified_at` moves only if it is still what the
        caller saw; the reminder goes out if any of them moved.
        """
        async with self._sessions.write() as session:
            moved: list[int] = []
            for stored in alerts:
                seen = stored.last_notified_at
                changed = await session.execute(
                    update(_alerts)
                    .where(
                        _alerts.c.id == stored.id,
                        _alerts.c.last_notified_at.is_(None)
                        if seen is None
                        else _alerts.c.last_notified_at == seen,
                    )
                    .values(last_notified_at=now)
                    .returning(_alerts.c.id)
                )
                moved.extend(changed.scalars())
            if not moved:
                return False
            await enqueue_note(session, channel, note, parent_alert_id=moved[0], now=now)
            return True

    async def held_alerts_due(self, now: datetime) -> list[StoredAlert]:
        """Alerts whose quiet hours are over, oldest first."""
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(AlertRow)
                .where(AlertRow.held_until.is_not(None), AlertRow.held_until <= now)
                .order_by(AlertRow.id)
            )
            return [stored_alert(row) for row in rows]

    async def next_release_at(self) -> datetime | None:
        async with self._sessions.read() as session:
            due: datetime | None = await session.scalar(select(func.min(AlertRow.held_until)))
            return due

    async def release_held(
        self,
        channel: str,
        digests: Sequence[Sequence[int]],
        recoveries: Sequence[tuple[int, int | None]],
        *,
        now: datetime,
    ) -> list[int]:
        """Post what quiet hours held: each digest as one message, each recovery threaded.

        Only alerts this call takes out of hold are enqueued, so a release
        raced by another replica posts nothing twice. Returns the outbox ids.
        """
        wanted = [alert_id for group in digests for alert_id in group]
        wanted += [recovery for recovery, _parent in recoveries]
        outbox: list[int] = []
        async with self._sessions.write() as session:
            taken = set(
                (
                    await session.execute(
                        update(_alerts)
                        .where(_alerts.c.id.in_(wanted), _alerts.c.held_until.is_not(None))
                        .values(held_until=None)
                        .returning(_alerts.c.id)
                    )
                ).scalars()
            )
            for group in digests:
                ids = [alert_id for alert_id in group if alert_id in taken]
                if ids:
                    outbox.append(await enqueue(session, channel, OutboxKind.POST, ids, None, now))
            for recovery, parent in recoveries:
                if recovery in taken:
                    outbox.append(
                        await enqueue(
                            session, channel, OutboxKind.THREAD_REPLY, [recovery], parent, now
                        )
                    )
        return outbox
