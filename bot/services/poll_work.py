"""Which destinations one poll cycle's workers take, and how many extra pages they may read.

Alone, a poller works through a list decided up front (`GivenWork`); beside
other replicas it leases one due destination at a time from the store
(`LeasedWork`), so replicas share the work and never poll a destination
twice in an interval. `PagePool` is the cycle's request budget beyond the
first page of each destination.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from bot.services.replica import Replica
from bot.store import ClaimedUnreadError, PollPlans, PollStart, Store

log = logging.getLogger(__name__)


class PagePool:
    """Requests beyond the first page of each destination, shared by one cycle."""

    def __init__(self, extra: int) -> None:
        self.extra = max(0, extra)

    def take(self) -> bool:
        if self.extra <= 0:
            return False
        self.extra -= 1
        return True


class Work(Protocol):
    """Where a cycle's workers take their next destination from."""

    quota_reached: bool

    async def take(self) -> str | None: ...

    def start_of(self, destination_id: str) -> PollStart | None:
        """What was read of the destination as it was taken, if anything."""
        ...

    async def done(self, destination_id: str, *, crashed: bool, released: bool) -> None: ...

    async def finish(self) -> None:
        """The cycle's workers are done: give back whatever is still held."""
        ...


class GivenWork:
    """A list decided up front: `check`, and a poller that runs alone without leases."""

    quota_reached = False

    def __init__(self, destination_ids: Sequence[str]) -> None:
        self._queue = deque(destination_ids)

    async def take(self) -> str | None:
        return self._queue.popleft() if self._queue else None

    def start_of(self, destination_id: str) -> PollStart | None:
        return None

    async def done(self, destination_id: str, *, crashed: bool, released: bool) -> None:
        pass

    async def finish(self) -> None:
        pass


class LeasedWork:
    """Destinations leased one at a time from the store, shared with other replicas."""

    def __init__(
        self,
        store: Store,
        replica: Replica,
        *,
        quota: int,
        due_before: datetime | None,
        only: str | None,
        among: Sequence[str] | None = None,
        clock: Callable[[], datetime],
        plan: PollPlans | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._replica = replica
        self._quota = quota
        self._taken = 0
        self._asking = 0
        self._due_before = due_before
        self._only = only
        # One connection's destinations, when the cycle serves several.
        self._among = among
        # Failed inside the bot this cycle: still due, and not to be retried at once.
        self._crashed: set[str] = set()
        # Of those, the ones whose lease this replica still holds (see `done`).
        self._held: list[str] = []
        # A claim found nothing due and free: none will this cycle (a lease another
        # replica holds is looked at again when it runs out: Poller's retry_at), so the
        # other workers stop too instead of each asking the database once more.
        self._drained = False
        self.quota_reached = quota <= 0
        # With plans, each claim also reads what its poll needs (bot/store/claim_reads.py).
        self._plan = plan
        self._started: dict[str, PollStart] = {}

    async def take(self) -> str | None:
        if self._drained:
            return None
        # Claims being asked for count against the quota, so workers asking at
        # once cannot overshoot it; a claim that finds nothing gives its place back.
        if self._taken + self._asking >= self._quota:
            if self._taken >= self._quota:
                self.quota_reached = True
            return None
        self._asking += 1
        try:
            destination_id = await self._claim()
        finally:
            self._asking -= 1
        if destination_id is None:
            self._drained = True
        if destination_id is not None:
            self._taken += 1
            self._replica.polling.add(destination_id)
        return destination_id

    async def _claim(self) -> str | None:
        try:
            claimed = await self._claim_and_read(self._plan)
        except ClaimedUnreadError as exc:
            # The reads that ride along with a claim failed (a damaged row, say); the
            # claim stands. The destination is polled the usual way, where such a
            # failure costs only that destination its poll.
            log.warning("reading a destination as it was claimed failed", exc_info=True)
            claimed = (exc.destination_id, None)
        if claimed is None:
            return None
        destination_id, start = claimed
        if start is not None:
            self._started[destination_id] = start
        return destination_id

    async def _claim_and_read(self, plan: PollPlans | None) -> tuple[str, PollStart | None] | None:
        now = self._clock()
        return await self._store.claim_and_begin(
            self._replica.id,
            now=now,
            until=now + self._replica.lease,
            due_before=self._due_before,
            only=self._only,
            among=self._among,
            exclude=self._crashed,
            plan=plan,
        )

    def start_of(self, destination_id: str) -> PollStart | None:
        return self._started.pop(destination_id, None)

    async def done(self, destination_id: str, *, crashed: bool, released: bool) -> None:
        """`released`: the poll's own write gave the lease back already."""
        if crashed:
            self._crashed.add(destination_id)
        self._replica.polling.discard(destination_id)
        if released:
            return
        if crashed:
            # Held until the cycle ends: a claim of this cycle asked before the crash
            # was known (its `exclude` already sent) must not find it free and take
            # it again, in place of a destination not yet polled.
            self._held.append(destination_id)
            return
        await self._release(destination_id)

    async def finish(self) -> None:
        while self._held:
            await self._release(self._held.pop())

    async def _release(self, destination_id: str) -> None:
        try:
            await self._store.release_destination(self._replica.id, destination_id)
        except Exception:
            # It runs out by itself within a lease (the heartbeat no longer renews it).
            log.warning("could not release a destination's lease", exc_info=True)
