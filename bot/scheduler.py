"""APScheduler wiring: the poll job, in the app's own event loop.

One job, `poll`, runs every POLL_INTERVAL. coalesce=True and max_instances=1
mean a slow poll (a big first read, a Northflank outage riding out retries)
is never stacked on top of itself: missed runs collapse into one. A run more
than half an interval late is skipped rather than run in a burst.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.poller import Poller

log = logging.getLogger(__name__)

POLL_JOB_ID = "poll"


class PollScheduler:
    def __init__(self, poller: Poller, *, interval: float, first_poll_after: float = 2.0) -> None:
        self._poller = poller
        self._interval = interval
        self._first_poll_after = first_poll_after
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self.polls = 0  # polls run, failed ones included

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._scheduler.add_job(
            self._poll,
            IntervalTrigger(seconds=self._interval, timezone=UTC),
            id=POLL_JOB_ID,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(self._interval / 2)),
            next_run_time=datetime.now(UTC) + timedelta(seconds=self._first_poll_after),
        )
        self._scheduler.start()

    def poll_job(self) -> Job | None:
        return self._scheduler.get_job(POLL_JOB_ID)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def _poll(self) -> None:
        try:
            report = await self._poller.poll_all()
        except Exception:
            # The job must survive anything: the next interval tries again.
            log.exception("a poll failed")
            return
        finally:
            self.polls += 1
        log.info(
            "poll done",
            extra={
                "destinations": len(report.destinations),
                "requests": report.requests,
                "alerts": len(report.alerts),
                "left_for_later": len(report.skipped),
            },
        )
