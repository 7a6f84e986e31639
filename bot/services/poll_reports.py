"""What a poll did, destination by destination: for the scheduler's log line and metrics,
for `check`, and for the tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.core import budget
from bot.core.alerts import Alert
from bot.core.watches import Watch


@dataclass
class DestinationReport:
    destination_id: str
    requests: int = 0
    backups_seen: int = 0
    alerts: list[tuple[Watch, Alert]] = field(default_factory=list)
    error: str | None = None
    full_scan: bool = False
    # The bot itself failed (not Northflank): nothing was recorded for it.
    crashed: bool = False
    # The read wrote backups or forgot some: what the poll read first is out of date.
    store_changed: bool = False
    # The lease ended with the poll's own write; nothing is left to give back.
    released: bool = False


@dataclass
class PollReport:
    destinations: list[DestinationReport] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # due, but left for a later poll
    plan: budget.CyclePlan | None = None
    # Due destinations are leased by another replica until then: look again at
    # that moment, in case it died holding them.
    retry_at: datetime | None = None

    @property
    def requests(self) -> int:
        return sum(d.requests for d in self.destinations)

    @property
    def alerts(self) -> list[tuple[Watch, Alert]]:
        return [pair for d in self.destinations for pair in d.alerts]
