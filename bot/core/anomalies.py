"""Silent failures: a backup Northflank calls `completed` that does not look like the others. Pure.

A dump of a database that was emptied, or a dump that stopped early, still
completes. It shows in the figures: far smaller than the addon's usual
backup, or far longer. Each completed backup is compared with the median of
the addon's last BASELINE_SIZE completed backups before it, once there are at
least BASELINE_MINIMUM of them to compare with:

- size 0 (whatever the history: an empty dump is never right), or under
  SIZE_SHARE of the median size;
- a duration (createdAt to completedAt) over DURATION_FACTOR times the median
  duration and at least DURATION_MARGIN longer than it: a 4-second dump
  against a 1-second median is noise, not news.

Each completed backup is judged once, when the addon rollup in the store
first takes it in (`merge_recent`), against every run before it, and the
verdict is kept with it (a run the rollup drops at once is never judged: its
verdict could not be kept). The rollup keeps the last RECENT_KEPT completed
backups, and besides them any judged unusual in the last FLAGGED_KEPT_FOR, so
the rules never read an addon's history to decide this, and a poll that
brings more new backups than the rollup keeps (after a day and a half down,
with hourly backups) loses none of the anomalies among them.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.core import humanize

BASELINE_SIZE = 10
BASELINE_MINIMUM = 5
SIZE_SHARE = 0.5
DURATION_FACTOR = 3.0
DURATION_MARGIN = timedelta(minutes=5)
# How many completed backups an addon's rollup keeps: a baseline for the next
# ones, with room to spare.
RECENT_KEPT = 30
# How long a run judged unusual stays in the rollup once RECENT_KEPT newer ones
# have pushed it out: as long as the rules look back (rules.LOOKBACK), so its
# alert is raised however many backups the same poll brought after it.
FLAGGED_KEPT_FOR = timedelta(days=7)


class AnomalyKind(StrEnum):
    EMPTY = "empty"
    SMALL = "small"
    SLOW = "slow"


@dataclass(frozen=True, slots=True)
class CompletedRun:
    """A completed backup, as much of it as the anomaly rule and its alert need."""

    backup_id: str
    name: str
    created_at: datetime
    completed_at: datetime | None
    size_bytes: int | None
    # When the bot saw it complete (history stays history, as for failures).
    status_since: datetime
    # The verdict of `anomaly_of` against the runs before it, given once when the
    # rollup took the run in; `judged` is False only for a run not yet taken in
    # (or stored before verdicts were kept), which is judged on what is kept.
    judged: bool = False
    anomaly: Anomaly | None = None

    @property
    def duration(self) -> timedelta | None:
        if self.completed_at is None:
            return None
        return max(timedelta(0), self.completed_at - self.created_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.backup_id,
            "name": self.name,
            "created_at": self.created_at.isoformat(),
            "completed_at": self.completed_at.isoformat() if self.completed_at else None,
            "size": self.size_bytes,
            "status_since": self.status_since.isoformat(),
            "judged": self.judged,
            "anomaly": self.anomaly.to_json() if self.anomaly else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompletedRun:
        completed = data.get("completed_at")
        return cls(
            backup_id=data["id"],
            name=data.get("name") or data["id"],
            created_at=datetime.fromisoformat(data["created_at"]),
            completed_at=datetime.fromisoformat(completed) if completed else None,
            size_bytes=data.get("size"),
            status_since=datetime.fromisoformat(data["status_since"]),
            judged=bool(data.get("judged")),
            anomaly=Anomaly.from_json(data["anomaly"]) if data.get("anomaly") else None,
        )


@dataclass(frozen=True, slots=True)
class Anomaly:
    """What is unusual about one completed backup, with the figures that say so."""

    kind: AnomalyKind
    size_bytes: int | None
    duration_seconds: float | None
    # The medians it was compared with, and over how many backups (0: none needed).
    median_size_bytes: float | None
    median_duration_seconds: float | None
    compared: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "size": self.size_bytes,
            "duration": self.duration_seconds,
            "median_size": self.median_size_bytes,
            "median_duration": self.median_duration_seconds,
            "compared": self.compared,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Anomaly:
        return cls(
            kind=AnomalyKind(data["kind"]),
            size_bytes=data.get("size"),
            duration_seconds=data.get("duration"),
            median_size_bytes=data.get("median_size"),
            median_duration_seconds=data.get("median_duration"),
            compared=data.get("compared", 0),
        )


def anomaly_of(run: CompletedRun, earlier: Sequence[CompletedRun]) -> Anomaly | None:
    """What is unusual about `run` against the completed backups before it (oldest first)."""
    baseline = list(earlier[-BASELINE_SIZE:])  # only the last ones: never copy the history
    sizes = [r.size_bytes for r in baseline if r.size_bytes is not None]
    durations = [d.total_seconds() for r in baseline if (d := r.duration) is not None]
    median_size = statistics.median(sizes) if len(sizes) >= BASELINE_MINIMUM else None
    median_duration = statistics.median(durations) if len(durations) >= BASELINE_MINIMUM else None
    duration = run.duration.total_seconds() if run.duration is not None else None

    def found(kind: AnomalyKind) -> Anomaly:
        return Anomaly(kind, run.size_bytes, duration, median_size, median_duration, len(baseline))

    if run.size_bytes == 0:
        return found(AnomalyKind.EMPTY)
    if (
        run.size_bytes is not None
        and median_size is not None
        and run.size_bytes < SIZE_SHARE * median_size
    ):
        return found(AnomalyKind.SMALL)
    if (
        duration is not None
        and median_duration is not None
        and duration > DURATION_FACTOR * median_duration
        and duration - median_duration >= DURATION_MARGIN.total_seconds()
    ):
        return found(AnomalyKind.SLOW)
    return None


def findings(runs: Sequence[CompletedRun]) -> list[tuple[CompletedRun, Anomaly | None]]:
    """Each run (oldest first) with what is unusual about it: its kept verdict, or, for a
    run never judged, what it is against those before it."""
    return [
        (run, run.anomaly if run.judged else anomaly_of(run, runs[:index]))
        for index, run in enumerate(runs)
    ]


def merge_recent(
    kept: Iterable[CompletedRun], new: Iterable[CompletedRun]
) -> tuple[CompletedRun, ...]:
    """An addon's kept runs updated with newly read ones, oldest first, each judged.

    A run taken in is judged against every run before it, kept or new, before any
    is dropped; a run read again keeps the moment it was first seen completing, and
    its verdict. What is kept: the RECENT_KEPT newest, and older runs judged unusual
    in the FLAGGED_KEPT_FOR before the newest.
    """
    by_id = {run.backup_id: run for run in kept}
    for run in new:
        by_id.setdefault(run.backup_id, run)
    ordered = sorted(by_id.values(), key=lambda r: (r.created_at, r.backup_id))
    if not ordered:
        return ()
    since = ordered[-1].created_at - FLAGGED_KEPT_FOR
    # A run outside the RECENT_KEPT newest and older than `since` is dropped whatever
    # its verdict, so it is not judged: only its figures count, as a baseline for the
    # runs after it. A first read of a long history judges a week's runs, not all.
    first_recent = len(ordered) - RECENT_KEPT
    judged: list[CompletedRun] = []
    for index, run in enumerate(ordered):
        if not run.judged and (index >= first_recent or run.created_at >= since):
            run = dataclasses.replace(run, judged=True, anomaly=anomaly_of(run, judged))
        judged.append(run)
    if len(judged) <= RECENT_KEPT:
        return tuple(judged)
    flagged = [
        run for run in judged[:-RECENT_KEPT] if run.anomaly is not None and run.created_at >= since
    ]
    return (*flagged, *judged[-RECENT_KEPT:])


def describe(anomaly: Anomaly) -> str:
    """What is unusual, in plain words with the figures (no markup; any surface)."""
    over = f"over the last {anomaly.compared} backups"
    if anomaly.kind is AnomalyKind.EMPTY:
        return "0 B: the backup is empty."
    if anomaly.kind is AnomalyKind.SMALL:
        return (
            f"{humanize.size(anomaly.size_bytes)}, against a median of "
            f"{humanize.size(_whole(anomaly.median_size_bytes))} {over}."
        )
    return (
        f"took {humanize.duration(anomaly.duration_seconds)}, against a median of "
        f"{humanize.duration(anomaly.median_duration_seconds)} {over}."
    )


THRESHOLDS = (
    f"empty, under {SIZE_SHARE:.0%} of the median size, or over {DURATION_FACTOR:g}x the "
    f"median time and {humanize.duration(DURATION_MARGIN.total_seconds())} longer; "
    f"median of the last {BASELINE_SIZE} completed backups, once there are {BASELINE_MINIMUM}"
)


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)
