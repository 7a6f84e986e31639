"""Scheduled jobs that every replica ticks but one should run: claimed with one update."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update

from bot.store.sessions import UsesSessions
from bot.store.tables import JobRunRow

_jobs = JobRunRow.__table__


class JobQueries(UsesSessions):
    async def claim_job(
        self, name: str, *, owner: str, now: datetime, every: timedelta, hold: timedelta
    ) -> bool:
        """Whether this replica runs `name` now: its last run began `every` ago or more, and
        no other replica holds it (for up to `hold`, in case it dies mid-run).

        One conditional update decides, so replicas ticking together run it once.
        """
        async with self._sessions.write() as session:
            await session.execute(
                self._sessions.insert(_jobs).values(name=name).on_conflict_do_nothing()
            )
            claimed = await session.execute(
                update(_jobs)
                .where(
                    _jobs.c.name == name,
                    or_(_jobs.c.last_run_at.is_(None), _jobs.c.last_run_at <= now - every),
                    or_(_jobs.c.claimed_until.is_(None), _jobs.c.claimed_until <= now),
                )
                .values(last_run_at=now, claimed_by=owner, claimed_until=now + hold)
                .returning(_jobs.c.name)
            )
            return claimed.first() is not None

    async def finish_job(self, name: str, *, owner: str) -> None:
        """The run is over: the next is due `every` after it began, whoever takes it."""
        async with self._sessions.write() as session:
            await session.execute(
                update(_jobs)
                .where(_jobs.c.name == name, _jobs.c.claimed_by == owner)
                .values(claimed_until=None)
            )
