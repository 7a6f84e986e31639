"""Keeping the database bounded: what the bot no longer needs goes, a batch at a time.

RETENTION_DAYS (default 90) after the fact, these are deleted: messages
delivered or given up on, alerts resolved (or never open) with their button
actions, snoozes long over, and backups that expired so long ago that
Northflank no longer lists them. The audit trail is kept for a year
(AUDIT_KEPT) or RETENTION_DAYS, whichever is longer. What the rules still
need survives however old (bot/store/retention.py says which).

Every replica ticks the job; one conditional update in the store lets one
of them run it each RUN_EVERY.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.store import Store
from bot.store.retention import BATCH

log = logging.getLogger(__name__)

JOB_NAME = "retention"
# How often the purge runs (across every replica), and how often each replica asks.
RUN_EVERY = timedelta(hours=1)
TICK_SECONDS = 600.0
# A replica that dies mid-run gives the job back after this long.
HOLD = timedelta(minutes=30)
AUDIT_KEPT = timedelta(days=365)
DEFAULT_RETENTION = timedelta(days=90)


@dataclass
class RetentionReport:
    ran: bool = False
    deleted: dict[str, int] = field(default_factory=dict)


class Retention:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        owner: str,
        keep: timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._store = store
        self._clock = clock
        self._owner = owner
        self._keep = keep

    async def run(self) -> RetentionReport:
        """Purge what is due, if no other replica did within RUN_EVERY."""
        now = self._clock()
        claimed = await self._store.claim_job(
            JOB_NAME, owner=self._owner, now=now, every=RUN_EVERY, hold=HOLD
        )
        if not claimed:
            return RetentionReport()
        report = RetentionReport(ran=True)
        cutoff = now - self._keep
        try:
            # Expired backups first: an alert about a backup the store still knows is kept.
            purges: list[tuple[str, Callable[[datetime], Awaitable[int]], datetime]] = [
                ("known_backups", self._store.purge_expired_backups, cutoff),
                ("outbox", self._store.purge_outbox, cutoff),
                ("alerts", self._store.purge_alerts, cutoff),
                ("snoozes", self._store.purge_snoozes, cutoff),
                ("audit_log", self._store.purge_audit, now - max(AUDIT_KEPT, self._keep)),
            ]
            for table, purge, before in purges:
                report.deleted[table] = await _in_batches(purge, before)
        finally:
            await self._store.finish_job(JOB_NAME, owner=self._owner)
        if any(report.deleted.values()):
            log.info("retention deleted old rows", extra={"deleted": report.deleted})
        return report


async def _in_batches(purge: Callable[[datetime], Awaitable[int]], before: datetime) -> int:
    total = 0
    while True:
        deleted = await purge(before)
        total += deleted
        if deleted < BATCH:
            return total
        # Let replies and acks in between batches of a long backlog.
        await asyncio.sleep(0)
