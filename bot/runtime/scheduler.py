"""APScheduler wiring: the poll job, in the app's own event loop.

One job, `poll`, runs every POLL_INTERVAL. coalesce=True and max_instances=1
mean a slow poll (a big first read, a Northflank outage riding out retries)
is never stacked on top of itself: missed runs collapse into one. A run more
than half an interval late is skipped rather than run in a burst.

With several replicas a second, one-off job, `takeover`, runs when due
destinations are leased by another replica: at the moment those leases run
out, so a replica that died is replaced within a lease, not an interval.

A third job, `followups`, runs every minute: reminders in open alerts'
threads, and the digests that quiet hours held once their window ends.

A fourth, `retention`, ticks every ten minutes; one replica an hour purges
what the bot no longer needs (bot/services/retention.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.job import Job
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.services.followups import FOLLOWUP_INTERVAL, Followups
from bot.services.poll_reports import PollReport
from bot.services.poller import Poller
from bot.services.retention import TICK_SECONDS as RETENTION_TICK
from bot.services.retention import Retention
from bot.services.stats import PollStats

log = logging.getLogger(__name__)

POLL_JOB_ID = "poll"
TAKEOVER_JOB_ID = "takeover"
FOLLOWUP_JOB_ID = "followups"
RETENTION_JOB_ID = "retention"
# After a lease runs out, before looking: clocks of replicas may differ a little.
TAKEOVER_MARGIN = timedelta(seconds=1)


class PollScheduler:
    def __init__(
        self,
        poller: Poller,
        *,
        interval: float,
        first_poll_after: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        followups: Followups | None = None,
        followup_interval: float = FOLLOWUP_INTERVAL,
        retention: Retention | None = None,
    ) -> None:
        self._poller = poller
        self._followups = followups
        self._retention = retention
        self._followup_interval = followup_interval
        self.interval = interval
        self._first_poll_after = first_poll_after
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self.stats = PollStats()
        self.started_at: datetime | None = None
        self._in_flight: set[asyncio.Task[object]] = set()

    @property
    def polls(self) -> int:
        """Polls run, failed ones included."""
        return sum(self.stats.polls.values())

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)

    def start(self) -> None:
        self._every(
            self.interval,
            self._poll,
            POLL_JOB_ID,
            next_run_time=datetime.now(UTC) + timedelta(seconds=self._first_poll_after),
        )
        if self._followups is not None:
            self._every(self._followup_interval, self._follow_up, FOLLOWUP_JOB_ID)
        if self._retention is not None:
            self._every(RETENTION_TICK, self._purge, RETENTION_JOB_ID)
        self._scheduler.start()
        self.started_at = self._clock()

    def _every(
        self,
        seconds: float,
        job: Callable[[], Awaitable[None]],
        job_id: str,
        **options: Any,
    ) -> None:
        """A repeating job that never runs twice at once, and skips runs half an interval late."""
        self._scheduler.add_job(
            job,
            IntervalTrigger(seconds=seconds, timezone=UTC),
            id=job_id,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(1, int(seconds / 2)),
            **options,
        )

    def poll_job(self) -> Job | None:
        return self._scheduler.get_job(POLL_JOB_ID)

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def stop(self, *, grace: float) -> None:
        """No new polls and no new destinations; those being polled get `grace` seconds.

        A poll still running after that is cancelled; its leases go back as it
        unwinds, and what it had not recorded is read again by the next poll.
        """
        self._poller.stop_claiming()
        # Paused, not shut down yet: APScheduler's asyncio executor cancels the jobs
        # still running when it shuts down, and these should finish first.
        if self._scheduler.running:
            self._scheduler.pause()
        running = [task for task in self._in_flight if not task.done()]
        if running:
            _finished, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                log.warning("a poll did not finish within %g s of shutdown; cancelling it", grace)
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=grace)
        self.shutdown()

    def _track_in_flight(self) -> None:
        """Remember the running job, so that stop() can let it finish."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _poll(self) -> None:
        self._track_in_flight()
        self.stats.running_since = self._clock()
        try:
            report = await self._poller.poll_all()
        except Exception:
            # The job must survive anything: the next interval tries again.
            log.exception("a poll failed")
            self.stats.polls["failed"] += 1
            return
        finally:
            self.stats.running_since = None
        self._count(report)
        if report.retry_at is not None:
            self._look_again_at(report.retry_at + TAKEOVER_MARGIN)
        log.info(
            "poll done",
            extra={
                "destinations": len(report.destinations),
                "requests": report.requests,
                "alerts": len(report.alerts),
                "left_for_later": len(report.skipped),
            },
        )

    async def _follow_up(self) -> None:
        assert self._followups is not None
        self._track_in_flight()
        try:
            await self._followups.run()
        except Exception:
            # Nothing is lost: what was not queued this minute is due the next.
            log.exception("reminders and quiet-hours releases failed this time")

    async def _purge(self) -> None:
        assert self._retention is not None
        self._track_in_flight()
        try:
            await self._retention.run()
        except Exception:
            # Nothing is lost: what was not deleted now is deleted at the next run.
            log.exception("the retention purge failed this time")

    def _look_again_at(self, when: datetime) -> None:
        if not self._scheduler.running:
            return
        self._scheduler.add_job(
            self._poll,
            DateTrigger(run_date=when, timezone=UTC),
            id=TAKEOVER_JOB_ID,
            replace_existing=True,
            misfire_grace_time=None,
        )

    def _count(self, report: PollReport) -> None:
        # A cycle that ran to the end is a success even when Northflank failed
        # some destinations: the bot did its job (and alerts about the outage).
        stats = self.stats
        stats.polls["ok"] += 1
        stats.last_success = self._clock()
        for destination in report.destinations:
            stats.destinations["failed" if destination.error else "ok"] += 1
        stats.destinations["postponed"] += len(report.skipped)
        for _watch, alert in report.alerts:
            stats.alerts[alert.event.value] += 1
