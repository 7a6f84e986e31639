"""A destination's backup health over a period: the figures a report shows. Pure.

`build_report` turns the backups of a period (from the store for a watched
destination, or read from the API for any other) into a `HealthReport`: the
counts by status and the success rate, each failure, abort, anomaly and missed
run with its addon, each addon's longest stretch without a good backup, the
stored size and its change, the slowest addon, the next expiries, and the
daily series the chart draws. bot/core/report_summary.py says it in plain
sentences for any surface.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from bot.core.anomalies import CompletedRun, anomaly_of, describe
from bot.core.backups import Backup, BackupStatus
from bot.core.schedules import EARLY_TOLERANCE, last_due, missed_grace

DEFAULT_DAYS = 30
MIN_DAYS = 1
MAX_DAYS = 90
# The runs an anomaly is judged against may come from before the period.
BASELINE_LOOKBACK = timedelta(days=14)
# The chart's duration panel shows this many addons: those whose newest backup is biggest.
CHART_ADDONS = 5
NEXT_EXPIRIES = 3


class ReportSource(StrEnum):
    STORE = "store"  # a watched destination: what the polls saved, no API request
    API = "api"  # read from Northflank for this report, within a listing's page budget


class ProblemKind(StrEnum):
    FAILED = "failed"
    ABORTED = "aborted"
    ANOMALY = "anomaly"
    MISSED = "missed"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    addon: str
    at: datetime
    # The backup it is about (None for a missed run), and what was unusual.
    backup_name: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class DayTotals:
    day: date
    completed: int = 0
    failed: int = 0
    aborted: int = 0
    other: int = 0
    completed_bytes: int = 0

    @property
    def total(self) -> int:
        return self.completed + self.failed + self.aborted + self.other


@dataclass(frozen=True, slots=True)
class AddonHealth:
    addon: str
    backups: int
    completed: int
    # The longest time in the period without a good (completed, not anomalous) backup.
    longest_gap: timedelta
    median_duration_seconds: float | None
    # The newest completed backup's size: what one more backup of it weighs.
    latest_size_bytes: int | None
    # (createdAt, seconds) of each completed backup in the period, for the chart.
    durations: tuple[tuple[datetime, float], ...] = ()


@dataclass(frozen=True, slots=True)
class Expiry:
    addon: str
    backup_name: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class HealthReport:
    destination_id: str
    destination_name: str
    since: datetime
    until: datetime
    days: int
    source: ReportSource
    # How far back the backups reach when that is short of `since` (the store
    # started with the watch; the API read stopped at its page budget).
    read_since: datetime | None
    by_status: tuple[tuple[str, int], ...]
    total: int
    completed: int
    finished: int  # completed, failed or aborted: what the success rate is over
    problems: tuple[Problem, ...]
    addons: tuple[AddonHealth, ...]
    stored_bytes_start: int
    stored_bytes_end: int
    next_expiries: tuple[Expiry, ...]
    daily: tuple[DayTotals, ...]

    @property
    def success_rate(self) -> float | None:
        return self.completed / self.finished if self.finished else None

    @property
    def is_empty(self) -> bool:
        return self.total == 0

    @property
    def slowest(self) -> AddonHealth | None:
        timed = [a for a in self.addons if a.median_duration_seconds is not None]
        return max(timed, key=lambda a: (a.median_duration_seconds or 0.0, a.addon), default=None)

    @property
    def chart_addons(self) -> tuple[AddonHealth, ...]:
        """The addons whose durations the chart draws: all of them, or the biggest few."""
        biggest = sorted(self.addons, key=lambda a: (-(a.latest_size_bytes or 0), a.addon))
        return tuple(a for a in biggest if a.durations)[:CHART_ADDONS]

    def count(self, kind: ProblemKind) -> int:
        return sum(1 for p in self.problems if p.kind is kind)


def period(until: datetime, days: int) -> tuple[datetime, datetime]:
    return until - timedelta(days=days), until


def build_report(
    backups: Iterable[Backup],
    *,
    destination_id: str,
    destination_name: str,
    until: datetime,
    days: int,
    source: ReportSource,
    read_since: datetime | None = None,
) -> HealthReport:
    """The report of the `days` before `until`. `backups` may reach back before the
    period (a baseline for the anomaly rule, a good backup before the first gap)."""
    # The days are UTC days, and the times are shown as UTC, whatever zone we are given.
    since, until = period(until.astimezone(UTC), days)
    read_since = read_since.astimezone(UTC) if read_since else None
    everything = sorted(backups, key=lambda b: (b.created_at, b.id))
    # Half-open, [since, until): a backup on the boundary is in one report, not two.
    in_period = [b for b in everything if since <= b.created_at < until]
    by_addon: dict[str, list[Backup]] = defaultdict(list)
    for backup in everything:
        by_addon[_addon_name(backup)].append(backup)
    covered_from = max(since, read_since) if read_since else since

    problems: list[Problem] = []
    addons: list[AddonHealth] = []
    for name, history in sorted(by_addon.items()):
        judged = _judged(history)
        problems.extend(_backup_problems(name, judged, since, until))
        problems.extend(_missed_runs(name, history, covered_from, until))
        addons.append(_addon_health(name, judged, since, covered_from, until))

    counted: dict[str, int] = defaultdict(int)
    for backup in in_period:
        counted[backup.status_text] += 1
    completed = sum(1 for b in in_period if b.status is BackupStatus.COMPLETED)
    finished = completed + sum(
        1 for b in in_period if b.status in (BackupStatus.FAILED, BackupStatus.ABORTED)
    )
    return HealthReport(
        destination_id=destination_id,
        destination_name=destination_name,
        since=since,
        until=until,
        days=days,
        source=source,
        read_since=read_since if read_since and read_since > since else None,
        by_status=tuple(sorted(counted.items(), key=lambda item: (-item[1], item[0]))),
        total=len(in_period),
        completed=completed,
        finished=finished,
        problems=tuple(sorted(problems, key=lambda p: (p.at, p.addon, p.kind.value))),
        addons=tuple(a for a in addons if a.backups),
        stored_bytes_start=_stored_at(everything, since),
        stored_bytes_end=_stored_at(everything, until),
        next_expiries=_next_expiries(everything, until),
        daily=_daily(in_period, since, until),
    )


# ----- helpers -----------------------------------------------------------------------------


def _addon_name(backup: Backup) -> str:
    return backup.addon.name if backup.addon else "(no addon)"


@dataclass(frozen=True, slots=True)
class _Judged:
    backup: Backup
    anomaly: str | None  # what is unusual about a completed backup, in words


def _judged(history: Sequence[Backup]) -> list[_Judged]:
    """Each backup of one addon, oldest first; completed ones judged against those before."""
    earlier: list[CompletedRun] = []
    judged: list[_Judged] = []
    for backup in history:
        if backup.status is not BackupStatus.COMPLETED:
            judged.append(_Judged(backup, None))
            continue
        run = CompletedRun(
            backup_id=backup.id,
            name=backup.name,
            created_at=backup.created_at,
            completed_at=backup.completed_at,
            size_bytes=backup.size_bytes,
            status_since=backup.completed_at or backup.created_at,
        )
        found = anomaly_of(run, earlier)
        judged.append(_Judged(backup, describe(found) if found else None))
        earlier.append(run)
    return judged


def _backup_problems(
    addon: str, judged: Sequence[_Judged], since: datetime, until: datetime
) -> Iterable[Problem]:
    for item in judged:
        backup = item.backup
        if not since <= backup.created_at < until:
            continue
        if backup.status is BackupStatus.FAILED:
            yield Problem(ProblemKind.FAILED, addon, backup.created_at, backup.name)
        elif backup.status is BackupStatus.ABORTED:
            yield Problem(ProblemKind.ABORTED, addon, backup.created_at, backup.name)
        elif item.anomaly is not None:
            yield Problem(ProblemKind.ANOMALY, addon, backup.created_at, backup.name, item.anomaly)


def _missed_runs(
    addon: str, history: Sequence[Backup], since: datetime, until: datetime
) -> Iterable[Problem]:
    """Runs the addon's schedules expected in the period that no backup answered.

    A backup answers one run: the first due at most EARLY_TOLERANCE after it was
    created (runs closer together than twice that split the time between them), so a
    run that started early does not also answer the run before it. A run counts as
    missed once its grace has passed by `until`. Runs due before the addon's first
    known backup are not counted: its schedule may be newer.
    """
    schedules = next((b.schedules for b in reversed(history) if b.schedules), ())
    if not schedules or not history:
        return
    created = [b.created_at for b in history]
    # Before the addon's first known backup its schedule may not have existed yet.
    since = max(since, created[0] - EARLY_TOLERANCE)
    # Each run due (whether its grace has passed by `until`), those still within their
    # grace included: an early backup for one of them is not an answer to the run before.
    dues: dict[datetime, bool] = {}
    for schedule in schedules:
        grace = missed_grace(schedule)
        moment = until + EARLY_TOLERANCE
        while (due := last_due(schedule, moment)) is not None and due >= since:
            dues[due] = dues.get(due, False) or due + grace <= until
            moment = due - timedelta(microseconds=1)
    ordered = sorted(dues)
    opens = [due - EARLY_TOLERANCE for due in ordered[:1]] + [
        due - min(EARLY_TOLERANCE, (due - before) / 2)
        for before, due in itertools.pairwise(ordered)
    ]
    for index, due in enumerate(ordered):
        if not dues[due]:
            continue
        closes = min(opens[index + 1], until) if index + 1 < len(ordered) else until
        first = bisect.bisect_left(created, opens[index])
        if first >= len(created) or created[first] >= closes:
            yield Problem(ProblemKind.MISSED, addon, due)


def _addon_health(
    addon: str, judged: Sequence[_Judged], since: datetime, covered_from: datetime, until: datetime
) -> AddonHealth:
    in_period = [j.backup for j in judged if since <= j.backup.created_at < until]
    good = [
        j.backup.created_at
        for j in judged
        if j.backup.status is BackupStatus.COMPLETED and j.anomaly is None
    ]
    completed = [b for b in in_period if b.status is BackupStatus.COMPLETED]
    durations = tuple(
        (b.created_at, seconds) for b in completed if (seconds := b.duration_seconds) is not None
    )
    sized = [b.size_bytes for b in completed if b.size_bytes is not None]
    return AddonHealth(
        addon=addon,
        backups=len(in_period),
        completed=len(completed),
        longest_gap=_longest_gap(good, covered_from, until),
        median_duration_seconds=statistics.median(s for _, s in durations) if durations else None,
        latest_size_bytes=sized[-1] if sized else None,
        durations=durations,
    )


def _longest_gap(good: Sequence[datetime], start: datetime, end: datetime) -> timedelta:
    """The longest stretch of [start, end] with no good backup created in it; a good
    backup from before the period starts the first stretch at that backup."""
    before = [t for t in good if t < start]
    inside = [t for t in good if start <= t <= end]
    marks = [before[-1] if before else start, *inside, end]
    return max((b - a for a, b in itertools.pairwise(marks)), default=end - start)


def _stored_at(backups: Sequence[Backup], moment: datetime) -> int:
    """What the completed backups held at `moment` weighed: done by then, not yet expired."""
    return sum(
        b.size_bytes or 0
        for b in backups
        if b.status is BackupStatus.COMPLETED
        and (b.completed_at or b.created_at) <= moment
        and (b.expires_at is None or b.expires_at > moment)
    )


def _next_expiries(backups: Sequence[Backup], after: datetime) -> tuple[Expiry, ...]:
    upcoming = heapq.nsmallest(
        NEXT_EXPIRIES,
        (
            (b.expires_at, b.id, b)
            for b in backups
            if b.status is BackupStatus.COMPLETED
            and b.expires_at is not None
            and b.expires_at > after
            # Held at `after`: not one made since (a report on a period that ended earlier).
            and (b.completed_at or b.created_at) <= after
        ),
        key=lambda item: (item[0], item[1]),
    )
    return tuple(Expiry(_addon_name(b), b.name, expires) for expires, _, b in upcoming)


_BUCKETS = {
    BackupStatus.COMPLETED: "completed",
    BackupStatus.FAILED: "failed",
    BackupStatus.ABORTED: "aborted",
}


def _daily(backups: Sequence[Backup], since: datetime, until: datetime) -> tuple[DayTotals, ...]:
    """Each UTC day of the period (a partial first and last day included), with its backups."""
    first = since.date()
    # The last day is the one holding the period's last moment: a period ending at
    # midnight does not end with an empty day.
    last = (until - timedelta(microseconds=1)).date()
    days = {
        first + timedelta(days=i): DayTotals(first + timedelta(days=i))
        for i in range((last - first).days + 1)
    }
    for backup in backups:
        totals = days[backup.created_at.astimezone(UTC).date()]
        bucket = _BUCKETS.get(backup.status, "other")
        changes = {bucket: getattr(totals, bucket) + 1}
        if backup.status is BackupStatus.COMPLETED:
            changes["completed_bytes"] = totals.completed_bytes + (backup.size_bytes or 0)
        days[totals.day] = dataclasses.replace(totals, **changes)
    return tuple(days[day] for day in sorted(days))
