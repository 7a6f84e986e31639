"""One poll: each watched destination once -> rules -> ledger and outbox.

The imperative shell around the pure parts: it reads pages from Northflank
(deciding with `paging` when to stop), keeps the store's picture of each
backup up to date, asks `rules` what each watching channel should hear, and
records the answer in one transaction. Delivery is someone else's job; the
poller only wakes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from bot.core import budget, rules
from bot.core.alerts import EMPTY_LEDGER
from bot.core.connections import split_destination_key
from bot.core.destination_state import DestinationState
from bot.core.failures import problem_words
from bot.core.watches import PollStatus, Watch, live_watches
from bot.northflank.client import MAX_PER_PAGE, NorthflankClient
from bot.northflank.errors import AuthenticationError, NorthflankError
from bot.services.alert_decisions import decide_channel_alerts
from bot.services.connections import NorthflankAccess, NorthflankConnections
from bot.services.destination_reading import MAX_PAGES_PER_DESTINATION, DestinationReader
from bot.services.poll_reports import DestinationReport, PollReport
from bot.services.poll_work import GivenWork, LeasedWork, PagePool, Work
from bot.services.replica import Replica
from bot.store import ChannelAlerts, PollPlan, PollPlans, PollStart, Store

log = logging.getLogger(__name__)

LEDGER_MEMORY = timedelta(days=120)
# Destinations polled at once by one replica: enough to hide latency, few
# enough to be polite (N replicas poll N times as many at once).
CONCURRENCY = 4
# Destinations one replica polls at once, all its connections together: CONCURRENCY per
# connection alone made 800 requests in flight at 200 connections, more than a database
# pool or a proxy takes, and far more than latency needs hiding for.
MAX_IN_FLIGHT = 64


class Poller:
    def __init__(
        self,
        store: Store,
        connections: NorthflankConnections | NorthflankClient,
        *,
        clock: Callable[[], datetime],
        poll_interval: float,
        on_alerts: Callable[[], None] | None = None,
        per_page: int = MAX_PER_PAGE,
        replica: Replica | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._store = store
        if isinstance(connections, NorthflankClient):
            # One token, no stored connections: the CLI's `check`, benches, tests.
            connections = NorthflankConnections(None, environment=connections)
        self._connections = connections
        self._clock = clock
        self._poll_interval = poll_interval
        self._on_alerts = on_alerts
        self._reader = DestinationReader(store, clock=clock, per_page=per_page)
        # A steady poll reads one page: that many newest rows are read up front to compare.
        self._per_page = per_page
        self._replica = replica
        self._max_in_flight = max_in_flight
        self._stopping = False

    async def poll_all(self, *, only: str | None = None, force: bool = False) -> PollReport:
        """Poll every destination that is due, within the request budget.

        `force` polls every watched destination now, due or not (`check`).
        With a replica, destinations are leased one at a time from the shared
        store, so replicas polling at once share the work and never poll the
        same destination twice in an interval.
        """
        watches = await self._store.pollable_watches()
        by_destination: dict[str, list[Watch]] = defaultdict(list)
        for watch in watches:
            if only is None or watch.destination_id == only:
                by_destination[watch.destination_id].append(watch)
        now = self._clock()
        statuses = await self._store.poll_statuses(by_destination)
        due = sorted(
            (d for d in by_destination if force or self._is_due(statuses.get(d), now)),
            # The least recently polled first, so a stretched cycle is fair.
            key=lambda d: _last_poll(statuses.get(d)),
        )
        # Each connection spends its own budget: one team's exhausted budget or
        # slow API never holds back another's polls.
        by_connection: dict[int, list[str]] = defaultdict(list)
        for key in due:
            by_connection[split_destination_key(key)[1]].append(key)
        report = PollReport()
        if self._replica is not None:
            await self._store.ensure_poll_rows()
        several = len(by_connection) > 1
        in_flight = asyncio.Semaphore(self._max_in_flight)
        await asyncio.gather(
            *(
                self._poll_connection(
                    connection_id,
                    keys,
                    by_destination,
                    report,
                    force=force,
                    only=only,
                    among=keys if several else None,
                    in_flight=in_flight,
                )
                for connection_id, keys in by_connection.items()
            )
        )
        if report.plan is None:
            report.plan = self._plan(self._connections.environment, 0)
        if report.alerts and self._on_alerts is not None:
            self._on_alerts()
        return report

    async def _poll_connection(
        self,
        connection_id: int,
        due: list[str],
        by_destination: dict[str, list[Watch]],
        report: PollReport,
        *,
        force: bool,
        only: str | None,
        among: list[str] | None,
        in_flight: asyncio.Semaphore,
    ) -> None:
        """One connection's share of a cycle, within that connection's budget.

        Each of its workers holds one of the cycle's `in_flight` places from the claim
        to the release: no lease is held while waiting for a place."""
        now = self._clock()
        plan = self._plan(await self._connections.access(connection_id), len(due))
        if report.plan is None or plan.stretched:
            report.plan = plan
        if plan.stretched:
            log.warning("polling less often to stay within the API budget: %s", plan.reason)
        quota = min(len(due), plan.requests)
        pool = PagePool(plan.requests - quota)
        if self._replica is None:
            work: Work = GivenWork(due[:quota])
        else:
            work = LeasedWork(
                self._store,
                self._replica,
                quota=quota,
                due_before=None if force else now - self._due_after(),
                only=only,
                among=among,
                clock=self._clock,
                plan=PollPlans(
                    self._plan_for([]), lambda key: self._plan_for(by_destination.get(key, []))
                ),
            )

        lease_owner = self._replica.id if self._replica is not None else None

        async def one(destination_id: str) -> DestinationReport:
            try:
                return await self.poll_destination(
                    destination_id,
                    by_destination.get(destination_id, []),
                    pool,
                    lease_owner=lease_owner,
                    start=work.start_of(destination_id),
                )
            except Exception as exc:
                # One destination's trouble (the store, a bug) must not cost the
                # others their poll. Nothing half-done is lost: the next poll
                # reads from what the store committed.
                log.exception("polling a destination failed inside the bot")
                return DestinationReport(
                    destination_id, error=f"internal: {exc!r}"[:300], crashed=True
                )

        polled: list[DestinationReport] = []

        async def worker() -> None:
            while not self._stopping:
                async with in_flight:
                    if (destination_id := await work.take()) is None:
                        return
                    crashed, released = True, False
                    try:
                        result = await one(destination_id)
                        crashed, released = result.crashed, result.released
                    finally:
                        # Even when cancelled: the lease goes back rather than run out.
                        await work.done(destination_id, crashed=crashed, released=released)
                polled.append(result)

        try:
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        finally:
            await work.finish()
        report.destinations.extend(polled)
        names = {d.destination_id for d in polled}
        report.skipped.extend([d for d in due if d not in names][: len(due) - quota])
        if self._replica is not None and not self._stopping and not work.quota_reached:
            retry_at = await self._store.next_lease_expiry(
                self._replica.id,
                now=self._clock(),
                due_before=self._clock() - self._due_after(),
                among=among,
            )
            if retry_at is not None and (report.retry_at is None or retry_at < report.retry_at):
                report.retry_at = retry_at

    def _plan(self, access: NorthflankAccess | None, destinations: int) -> budget.CyclePlan:
        return budget.plan_cycle(
            self._budget_reading(access.client if access is not None else None),
            destinations=destinations,
            poll_interval=self._poll_interval,
            replicas=self._replica.live_count if self._replica else 1,
        )

    def stop_claiming(self) -> None:
        """Shutting down: destinations being polled finish, no new one is taken."""
        self._stopping = True

    async def poll_destination(
        self,
        destination_id: str,
        watches: Sequence[Watch],
        pool: PagePool | None = None,
        *,
        lease_owner: str | None = None,
        start: PollStart | None = None,
    ) -> DestinationReport:
        """Read what changed, record how polling went, raise the alerts that follow.

        The store is read once before Northflank is asked (`start`, read with the
        claim; else `begin_poll`) and written once after (the poll status, which
        also gives back `lease_owner`'s lease); a page that changed nothing writes
        nothing else.
        """
        report = DestinationReport(destination_id)
        live = live_watches(watches)
        if start is None:
            start = await self._begin(destination_id, live, newest=self._per_page)
        try:
            await self._reader.read(
                destination_id,
                pool or PagePool(MAX_PAGES_PER_DESTINATION),
                report,
                await self._client_for(destination_id),
                start,
            )
        except NorthflankError as exc:
            report.error = str(exc)
            status = await self._store.record_poll_failure(
                destination_id, self._clock(), str(exc), release=lease_owner
            )
            report.released = lease_owner is not None
            log.warning(
                "polling a destination failed",
                extra={
                    "destination": destination_id,
                    "error": type(exc).__name__,
                    "failures_in_a_row": status.consecutive_failures,
                },
            )
            await self._raise_alerts(
                destination_id, live, status, problem_words(exc.failure()), report, start
            )
            return report
        status = await self._store.record_poll_success(
            destination_id, self._clock(), release=lease_owner
        )
        report.released = lease_owner is not None
        await self._raise_alerts(destination_id, live, status, None, report, start)
        return report

    async def read_destination(self, destination_id: str, *, max_pages: int) -> DestinationReport:
        """Bring the store up to date; Northflank errors are raised, not recorded. `watch`
        uses this to check a destination before a channel watches it, and to summarise it."""
        report = DestinationReport(destination_id)
        client = await self._client_for(destination_id)
        start = await self._begin(destination_id, [], newest=self._per_page)
        await self._reader.read(destination_id, PagePool(max_pages - 1), report, client, start)
        await self._store.record_poll_success(destination_id, self._clock())
        return report

    async def _begin(self, destination_id: str, live: Sequence[Watch], *, newest: int) -> PollStart:
        return await self._store.begin_poll(
            destination_id, self._clock(), self._plan_for(live, newest=newest)
        )

    def _plan_for(self, watches: Sequence[Watch], *, newest: int | None = None) -> PollPlan:
        live = live_watches(watches)
        return PollPlan(
            channels=frozenset(w.channel for w in live),
            lookback=rules.LOOKBACK,
            horizon=rules.expiry_horizon(live),
            ledger_memory=LEDGER_MEMORY,
            newest=self._per_page if newest is None else newest,
        )

    async def _client_for(self, destination_id: str) -> NorthflankClient:
        access = await self._connections.for_key(destination_id)
        if access is None:
            # Removed by another replica while this poll ran (its watches went with it).
            raise AuthenticationError("the Northflank connection was removed", status=401)
        return access.client

    async def evaluate(self, destination_id: str) -> DestinationReport:
        """Run the rules for every channel watching a destination, without reading it."""
        report = DestinationReport(destination_id)
        live = live_watches(
            w for w in await self._store.pollable_watches() if w.destination_id == destination_id
        )
        start = await self._begin(destination_id, live, newest=0)
        status = start.status or PollStatus(destination_id)
        await self._raise_alerts(destination_id, live, status, None, report, start)
        if report.alerts and self._on_alerts is not None:
            self._on_alerts()
        return report

    # ----- deciding --------------------------------------------------------------------

    async def _raise_alerts(
        self,
        destination_id: str,
        live: Sequence[Watch],
        status: PollStatus,
        problem: str | None,
        report: DestinationReport,
        start: PollStart,
    ) -> None:
        if not live:
            return
        now = self._clock()
        state: DestinationState | None = None
        if problem is None:
            # What the poll read first is still what the store holds, unless it wrote.
            state = (
                await self._store.destination_state(
                    destination_id,
                    now,
                    lookback=rules.LOOKBACK,
                    horizon=rules.expiry_horizon(live),
                )
                if report.store_changed
                else start.state
            )
        batches: list[ChannelAlerts] = []
        for watch in live:
            alerts, batch = decide_channel_alerts(
                watch,
                state,
                start.ledgers.get(watch.channel, EMPTY_LEDGER),
                status,
                problem=problem,
                snoozes=start.snoozes,
                now=now,
            )
            if batch is not None:
                batches.append(batch)
            report.alerts.extend((watch, alert) for alert in alerts)
        if batches:
            await self._store.record_alerts(batches, now)

    # ----- budget ----------------------------------------------------------------------

    def _due_after(self) -> timedelta:
        # A little slack, so a poll that ran a second late does not skip a whole interval.
        return timedelta(seconds=self._poll_interval * 0.9)

    def _is_due(self, status: PollStatus | None, now: datetime) -> bool:
        if status is None or status.last_poll_at is None:
            return True
        return now - status.last_poll_at >= self._due_after()

    def _budget_reading(self, client: NorthflankClient | None) -> budget.BudgetReading:
        if client is None:
            return budget.BudgetReading(None, None, None)
        state = client.rate_limit
        if state.window_over(budget.DEFAULT_WINDOW_SECONDS):
            # The window the last response described is over, and a new one starts
            # full. Nothing else would tell us: a poll held back for want of budget
            # sends no request, so "0 remaining" would hold back every poll after it.
            return budget.BudgetReading(state.limit, state.limit, None)
        return budget.BudgetReading(state.limit, state.remaining, state.seconds_until_reset())


def _last_poll(status: PollStatus | None) -> float:
    if status is None or status.last_poll_at is None:
        return float("-inf")
    return status.last_poll_at.timestamp()
