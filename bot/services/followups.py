"""Work due by the clock: reminders in alert threads, quiet-hours releases, weekly reports.

The imperative shell around bot/core/reminders.py and bot/core/weekly_reports.py.
The scheduler runs it
every FOLLOWUP_INTERVAL; each run queues messages in the outbox (claimed
with a conditional update, so several replicas queue each one once) and
wakes delivery. A reminder is queued as a note (bot/core/messages.py) and
rendered when it is posted; a weekly report as the note of which week, whose
figures are read when it is posted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.core import reminders, weekly_reports
from bot.core.messages import AlertContext, ReminderNote, WeeklyReportNote, note_to_json
from bot.store import Store

log = logging.getLogger(__name__)

# How often reminders and quiet-hours ends are looked for: a reminder or a
# held digest is at most this late.
FOLLOWUP_INTERVAL = 60.0


@dataclass
class FollowupReport:
    reminders: int = 0
    released_alerts: int = 0
    weekly_reports: int = 0
    # Claimed while the watch was muted: that week's report is not sent.
    weekly_reports_skipped: int = 0
    outbox_ids: list[int] = field(default_factory=list)


class Followups:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._wake = wake

    async def run(self) -> FollowupReport:
        report = FollowupReport()
        await self._release_held(report)
        await self._remind(report)
        await self._weekly_reports(report)
        if report.outbox_ids or report.reminders:
            log.info(
                "followups queued",
                extra={
                    "reminders": report.reminders,
                    "released_alerts": report.released_alerts,
                    "weekly_reports": report.weekly_reports,
                },
            )
            if self._wake is not None:
                self._wake()
        return report

    async def _release_held(self, report: FollowupReport) -> None:
        held = await self._store.held_alerts_due(self._clock())
        for release in reminders.releases(held):
            outbox = await self._store.release_held(
                release.channel, release.digests, release.recoveries, now=self._clock()
            )
            report.outbox_ids.extend(outbox)
            report.released_alerts += sum(len(d) for d in release.digests) + len(release.recoveries)

    async def _remind(self, report: FollowupReport) -> None:
        now = self._clock()
        candidates = await self._store.reminder_candidates()
        if not candidates:
            return
        snoozes = await self._store.snoozes_in({c.stored.channel for c in candidates}, now)
        for due in reminders.due_reminders(candidates, snoozes, now):
            context = AlertContext(
                due.watch.destination_id, due.watch.destination_name, due.watch.settings
            )
            note = note_to_json(
                ReminderNote(
                    tuple(stored.alert for stored in due.alerts),
                    open_for=due.open_for,
                    remind_every=due.remind_every,
                    context=context,
                )
            )
            if await self._store.record_reminder(due.channel, due.alerts, note, now=now):
                report.reminders += 1

    async def _weekly_reports(self, report: FollowupReport) -> None:
        now = self._clock()
        for watch in await self._store.every_watch():
            due = weekly_reports.report_due(watch, now)
            if due is None:
                continue
            note = WeeklyReportNote(watch.destination_id, watch.destination_name, due.scheduled_for)
            queued = await self._store.claim_weekly_report(
                watch,
                due.scheduled_for,
                note=None if due.skip else note_to_json(note),
                now=now,
            )
            if queued is None:
                continue  # another replica's
            if queued == 0:
                report.weekly_reports_skipped += 1
                log.info("weekly report skipped: the watch is muted", extra={"watch": watch.id})
            else:
                report.weekly_reports += 1
                report.outbox_ids.append(queued)
