"""What a channel watches, and how. Pure: the store persists these, the rules read them.

A `Watch` is one channel watching one destination. Its `started_at` is the
line between history and news: a backup that failed before the watch began
is history and is never alerted, so a new watch does not flood its channel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from bot.core.backups import Backup
from bot.core.destination_state import MissedRun
from bot.core.quiet_hours import QuietHours


class Event(StrEnum):
    """Every kind of alert. The first six are what `events=` chooses from."""

    FAILED = "failed"
    ABORTED = "aborted"
    EXPIRING = "expiring"
    STUCK = "stuck"
    MISSED = "missed"
    # A completed backup that does not look like the others (bot.core.anomalies).
    ANOMALY = "anomaly"
    # Follows any of failed, aborted, stuck, missed or anomaly; never chosen on its own.
    RECOVERED = "recovered"
    # Northflank itself cannot be polled (revoked token, 404, outage), and its end.
    NORTHFLANK_PROBLEM = "northflank-problem"
    NORTHFLANK_RECOVERED = "northflank-recovered"


# What `events=` accepts, in the order help text lists them.
WATCHABLE_EVENTS: tuple[Event, ...] = (
    Event.FAILED,
    Event.ABORTED,
    Event.EXPIRING,
    Event.STUCK,
    Event.MISSED,
    Event.ANOMALY,
)
# The events a later good backup resolves (and so threads a recovery under).
PROBLEM_EVENTS = frozenset({Event.FAILED, Event.ABORTED, Event.STUCK, Event.MISSED, Event.ANOMALY})

# The alerts someone should act on: reminded in their thread until acknowledged.
REMINDED_EVENTS = frozenset({Event.FAILED, Event.STUCK, Event.MISSED, Event.ANOMALY})

DEFAULT_EXPIRY = timedelta(hours=72)
DEFAULT_STUCK = timedelta(hours=6)
DEFAULT_REMIND = timedelta(hours=24)


class WatchState(StrEnum):
    ACTIVE = "active"
    # Slack will not let us post (not in the channel and cannot join). Alerts
    # are kept, not dropped, and go out once the channel is reachable again.
    BROKEN = "broken"
    # The channel is gone or archived: polling for it stops.
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class WatchSettings:
    events: frozenset[Event] = field(default_factory=lambda: frozenset(WATCHABLE_EVENTS))
    expiry: timedelta = DEFAULT_EXPIRY
    stuck: timedelta = DEFAULT_STUCK
    # How often an open, unacknowledged failed/stuck/missed alert is reminded
    # in its thread; None: never (`remind=off`).
    remind: timedelta | None = DEFAULT_REMIND
    # Alerts due inside this window are held and posted as one digest at its end.
    quiet: QuietHours | None = None
    # The report of the last 7 days every Monday 09:00 (`report=weekly`), or none.
    weekly_report: bool = True

    def wants(self, event: Event) -> bool:
        if event is Event.RECOVERED:
            return bool(self.events & PROBLEM_EVENTS)
        if event in (Event.NORTHFLANK_PROBLEM, Event.NORTHFLANK_RECOVERED):
            return True  # a watch that cannot see its destination must always say so
        return event in self.events


@dataclass(frozen=True, slots=True)
class Watch:
    id: int
    channel: str
    destination_id: str
    destination_name: str
    settings: WatchSettings
    started_at: datetime
    created_by: str
    muted_until: datetime | None = None
    state: WatchState = WatchState.ACTIVE
    state_reason: str | None = None
    # The Monday 09:00 whose weekly report was last claimed (bot.core.weekly_reports).
    report_sent_for: datetime | None = None

    def muted(self, now: datetime) -> bool:
        return self.muted_until is not None and now < self.muted_until


def live_watches(watches: Iterable[Watch]) -> list[Watch]:
    """The watches a poll serves: every one but those of channels that are gone."""
    return [w for w in watches if w.state is not WatchState.DISABLED]


@dataclass(frozen=True, slots=True)
class PollStatus:
    """How polling a destination is going; `watching` shows it."""

    destination_id: str
    last_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    consecutive_failures: int = 0
    failing_since: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class DestinationSummary:
    """A destination's state at a glance, from the store: the reply to `watch`."""

    total: int
    counts: dict[str, int]  # status text -> how many
    # The newest backup of each addon whose newest backup failed or aborted.
    failing: tuple[Backup, ...]
    # Completed backups that expire soonest (not yet expired).
    next_expiries: tuple[Backup, ...]
    # False while the first full read of a big destination is still under way.
    complete: bool = True
    # Addons whose latest scheduled run did not happen (bot.core.rules.missed_runs).
    missed: tuple[MissedRun, ...] = ()
