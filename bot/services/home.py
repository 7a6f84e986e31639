"""The Home tab's content: every watch in the workspace, its health, the open alerts.

Read from the store only: opening the Home tab costs no Northflank request.
The Slack adapter renders a `HomeOverview` (bot/slack/render/home.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.core.backups import Destination
from bot.core.handling import StoredAlert
from bot.core.reports import Expiry, HealthReport
from bot.core.watches import PollStatus, Watch
from bot.core.weekly_reports import WEEKLY_DAYS
from bot.services.reports import ReportService
from bot.store import Store

# Open alerts listed with their buttons; the rest are counted. Each takes two of
# the Home view's 100 blocks.
OPEN_ALERTS_SHOWN = 15


@dataclass(frozen=True, slots=True)
class DestinationHealth:
    watch: Watch
    open_problems: int
    status: PollStatus | None
    # The last 7 days, from the store.
    backups: int
    success_rate: float | None
    next_expiry: Expiry | None

    @property
    def healthy(self) -> bool:
        return self.open_problems == 0


@dataclass(frozen=True, slots=True)
class ChannelWatches:
    channel: str
    destinations: tuple[DestinationHealth, ...]


@dataclass(frozen=True, slots=True)
class HomeOverview:
    channels: tuple[ChannelWatches, ...]
    open_alerts: tuple[StoredAlert, ...]
    # All open alerts, of which `open_alerts` are the newest.
    open_alert_total: int
    at: datetime

    @property
    def watch_count(self) -> int:
        return sum(len(c.destinations) for c in self.channels)


class HomeService:
    def __init__(
        self, store: Store, reports: ReportService, *, clock: Callable[[], datetime]
    ) -> None:
        self._store = store
        self._reports = reports
        self._clock = clock

    async def overview(self, team: str) -> HomeOverview:
        """What workspace `team` watches: nothing of any other workspace."""
        now = self._clock()
        watches = await self._store.all_watches(team=team)
        statuses = await self._store.poll_statuses({w.destination_id for w in watches})
        counts = await self._store.open_problem_counts(team=team)
        weeks: dict[str, HealthReport] = {}
        for watch in watches:
            if watch.destination_id not in weeks:
                weeks[watch.destination_id] = await self._reports.from_store(
                    Destination(watch.destination_id, watch.destination_name),
                    WEEKLY_DAYS,
                    until=now,
                )
        by_channel: dict[str, list[DestinationHealth]] = {}
        for watch in watches:
            week = weeks[watch.destination_id]
            by_channel.setdefault(watch.channel, []).append(
                DestinationHealth(
                    watch=watch,
                    open_problems=counts.get((watch.channel, watch.destination_id), 0),
                    status=statuses.get(watch.destination_id),
                    backups=week.total,
                    success_rate=week.success_rate,
                    next_expiry=week.next_expiries[0] if week.next_expiries else None,
                )
            )
        alerts, total = await self._store.open_problems(team=team, limit=OPEN_ALERTS_SHOWN)
        return HomeOverview(
            channels=tuple(ChannelWatches(c, tuple(d)) for c, d in by_channel.items()),
            open_alerts=tuple(alerts),
            open_alert_total=total,
            at=now,
        )

    async def report_of_watched(
        self, destination_id: str, days: int, *, team: str
    ) -> HealthReport | None:
        """A watched destination's report, for the Home tab's "Report to me"; None when
        no channel of workspace `team` watches it (the tab only offers watched ones)."""
        watched = await self._reports.watched_destination(destination_id, None, team=team)
        if watched is None or watched.id != destination_id:
            return None
        return await self._reports.from_store(watched, days)
