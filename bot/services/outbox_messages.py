"""What each outbox row says, read back from the ledger when it is delivered.

An outbox row holds ledger ids, not a rendered message: the message is
composed when it goes out, from what the ledger says then (an alert
acknowledged meanwhile shows as acknowledged), and rendered by the chat
surface. A note is the exception: it was decided when queued and is stored
as data (bot/core/messages.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.core.handling import StoredAlert
from bot.core.messages import (
    AlertContext,
    AlertDigest,
    AlertView,
    RecoveryNote,
    ReportMessage,
    WeeklyReportNote,
)
from bot.services.reports import ReportService
from bot.store import OutboxItem, Store


class OutboxMessages:
    def __init__(
        self, store: Store, *, clock: Callable[[], datetime], write_buttons: bool = False
    ) -> None:
        self._store = store
        self._clock = clock
        # Retain / Start backup / Abort are offered only when someone may press them.
        self._write_buttons = write_buttons
        # Weekly reports are of watched destinations: the store has their backups.
        self._reports = ReportService(store, None, clock=clock)

    async def digest(self, stored: Sequence[StoredAlert]) -> AlertDigest:
        """The alerts of one message as it shows them now: acknowledged, snoozed, resolved."""
        now = self._clock()
        snoozes = await self._store.active_snoozes(stored[0].channel, now)
        views = []
        for entry in stored:
            snooze = next((s for s in snoozes if s.covers(entry.alert, now)), None)
            views.append(
                AlertView(
                    entry.alert,
                    entry.resolved_at,
                    alert_id=entry.id,
                    acknowledged_by=entry.acknowledged_by,
                    acknowledged_at=entry.acknowledged_at,
                    snoozed_until=snooze.until if snooze else None,
                    snoozed_by=snooze.created_by if snooze else None,
                )
            )
        return AlertDigest(tuple(views), await self.context(stored[0]))

    async def recovery(self, stored: StoredAlert) -> RecoveryNote:
        resolved = await self._store.alerts(stored.alert.resolves)
        return RecoveryNote(
            stored.alert, tuple(r.alert for r in resolved), await self.context(stored)
        )

    async def weekly_report(self, note: WeeklyReportNote) -> ReportMessage:
        """The week's figures as the store has them now, for the week the note names."""
        report = await self._reports.weekly(
            note.destination_id, note.destination_name, note.week_ending
        )
        return ReportMessage(report)

    async def thread_of(self, item: OutboxItem) -> str | None:
        """The ts of the message a row is threaded under, once that message is posted."""
        if item.parent_alert_id is None:
            return None
        parent = await self._store.alerts([item.parent_alert_id])
        return parent[0].message_ts if parent else None

    async def context(self, stored: StoredAlert) -> AlertContext:
        watch = await self._store.watch_by_id(stored.watch_id) if stored.watch_id else None
        if watch is None:
            return AlertContext(
                stored.destination_id, stored.destination_id, None, self._write_buttons
            )
        return AlertContext(
            watch.destination_id, watch.destination_name, watch.settings, self._write_buttons
        )
