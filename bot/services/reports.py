"""Health reports: a destination's backups over a period, from the store or the API.

A destination that some channel watches is reported from what the polls
saved, at no Northflank request; any other is read from the API within a
filtered listing's page budget, and the report says how far back that
reached. The figures are bot/core/reports.py; the chart and the words are
the surfaces' (bot/charts/, bot/slack/render/report.py, the CLI).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.core.backups import Backup, Destination
from bot.core.connections import shown_id
from bot.core.reports import BASELINE_LOOKBACK, HealthReport, ReportSource, build_report
from bot.core.tenancy import SINGLE, team_of
from bot.core.weekly_reports import WEEKLY_DAYS
from bot.services.connections import NorthflankConnections
from bot.services.listing import BackupLister, NoDestinations, WhichDestination
from bot.store import Store


class ReportService:
    def __init__(
        self,
        store: Store | None,
        connections: NorthflankConnections | None,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self._connections = connections
        self._clock = clock

    async def report(
        self, reference: str | None, days: int, *, channel: str | None = None
    ) -> HealthReport | NoDestinations | WhichDestination:
        """The report `/backups report` (or the CLI) asks for: DEST, else the one
        destination the channel watches, else the token's only one."""
        team = team_of(channel) if channel is not None else SINGLE
        watched = await self.watched_destination(reference, channel, team=team)
        if watched is not None:
            return await self.from_store(watched, days)
        if self._connections is None:
            raise LookupError(
                "no Northflank client in this process, and the destination is not watched"
            )
        access = (
            await self._connections.require(channel)
            if channel is not None
            else self._connections.environment
        )
        if access is None:
            raise LookupError("no Northflank token in this process")
        destination = await access.lister.choose(reference)
        if isinstance(destination, NoDestinations | WhichDestination):
            return destination
        return await self.from_api(destination, days, access.lister)

    async def weekly(self, destination_id: str, name: str, week_ending: datetime) -> HealthReport:
        return await self.from_store(
            Destination(id=destination_id, name=name), WEEKLY_DAYS, until=week_ending
        )

    async def watched_destination(
        self, reference: str | None, channel: str | None, *, team: str
    ) -> Destination | None:
        """The watched destination `reference` names (by id, or by name when only one has
        it), or with no reference, the channel's only watched one."""
        if self._store is None:
            return None
        if reference is None:
            watches = await self._store.channel_watches(channel) if channel else []
            if len(watches) != 1:
                return None
            return Destination(id=watches[0].destination_id, name=watches[0].destination_name)
        watches = await self._store.all_watches(team=team)
        by_id = [w for w in watches if reference in (w.destination_id, shown_id(w.destination_id))]
        folded = reference.casefold()
        named = {w.destination_id: w for w in watches if w.destination_name.casefold() == folded}
        chosen = by_id[0] if by_id else (next(iter(named.values())) if len(named) == 1 else None)
        if chosen is None:
            return None
        return Destination(id=chosen.destination_id, name=chosen.destination_name)

    async def from_store(
        self, destination: Destination, days: int, *, until: datetime | None = None
    ) -> HealthReport:
        assert self._store is not None  # a watched destination implies a store
        until = until or self._clock()
        since = until - timedelta(days=days)
        backups = await self._store.backups_created_since(destination.id, since - BASELINE_LOOKBACK)
        scan = await self._store.scan_state(destination.id)
        # A first full read still under way: the store reaches back only as far as it got.
        read_since = (
            None if scan.complete else await self._store.oldest_backup_created_at(destination.id)
        )
        return await _figures(backups, destination, until, days, ReportSource.STORE, read_since)

    async def from_api(
        self, destination: Destination, days: int, lister: BackupLister
    ) -> HealthReport:
        until = self._clock()
        since = until - timedelta(days=days)
        backups, reached = await lister.read_back(destination, since - BASELINE_LOOKBACK)
        read_since = None
        if not reached:
            read_since = min((b.created_at for b in backups), default=until)
        return await _figures(backups, destination, until, days, ReportSource.API, read_since)


async def _figures(
    backups: list[Backup],
    destination: Destination,
    until: datetime,
    days: int,
    source: ReportSource,
    read_since: datetime | None,
) -> HealthReport:
    # 90 days of hourly backups of 20 addons is about a second of CPU (bench.report_render):
    # worked out in a thread, so the event loop keeps acking meanwhile.
    work = functools.partial(
        build_report,
        backups,
        destination_id=destination.id,
        destination_name=destination.name,
        until=until,
        days=days,
        source=source,
        read_since=read_since,
    )
    return await asyncio.to_thread(work)
