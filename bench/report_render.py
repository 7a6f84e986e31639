"""What a health report's chart costs: `build_report` and `render_report_png` timed
apart, for 30 and 90 days of hourly backups of 20 addons, next to the floor of
encoding a PNG at all (savefig of an empty 1200×700 figure).

    .venv/bin/python -m bench.report_render [--rounds N] [--addons N]

Everything runs in this process, on synthetic backups made in memory: no store,
no Northflank, no Slack. Each measurement is the best of N rounds.
"""

from __future__ import annotations

import argparse
import io
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.charts.report_chart import BACKGROUND, DPI, HEIGHT_INCHES, WIDTH_INCHES, render_report_png
from bot.core.backups import Backup, BackupStatus, Ref
from bot.core.reports import BASELINE_LOOKBACK, HealthReport, ReportSource, build_report

UNTIL = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)
PERIODS = (30, 90)
# Roughly what a troubled week looks like: 1 % failed, 0.5 % aborted, 0.2 % still running.
FAILED_SHARE, ABORTED_SHARE, RUNNING_SHARE = 0.01, 0.005, 0.002


def status_for(hour: int, roll: float) -> BackupStatus:
    """A backup's status from a uniform draw; the newest hour's may still be running."""
    if roll < FAILED_SHARE:
        return BackupStatus.FAILED
    if roll < FAILED_SHARE + ABORTED_SHARE:
        return BackupStatus.ABORTED
    if roll < FAILED_SHARE + ABORTED_SHARE + RUNNING_SHARE or (hour == 0 and roll < 0.5):
        return BackupStatus.IN_PROGRESS
    return BackupStatus.COMPLETED


def backups_for(days: int, addons: int) -> list[Backup]:
    """A backup an hour of each addon over the period and the BASELINE_LOOKBACK before
    it, as the store hands them to `build_report`; seeded, so every run sees the same."""
    rng = random.Random(days * 1000 + addons)
    hours = int((timedelta(days=days) + BASELINE_LOOKBACK) / timedelta(hours=1))
    backups = []
    for addon in range(addons):
        ref = Ref(f"addon-{addon}", f"postgres-{addon}")
        size = (addon + 1) * 40_000_000
        minutes = 1.0 + addon * 0.7
        for hour in range(hours):
            created = UNTIL - timedelta(hours=hour, minutes=addon % 60)
            status = status_for(hour, rng.random())
            done = status is BackupStatus.COMPLETED
            backups.append(
                Backup(
                    id=f"{addon}-{hour}",
                    name=f"backup-{addon}-{hour}",
                    status=status,
                    status_text=status.value,
                    created_at=created,
                    completed_at=created + timedelta(minutes=minutes * rng.uniform(0.8, 1.3))
                    if done
                    else None,
                    expires_at=created + timedelta(days=120),
                    size_bytes=int(size * rng.uniform(0.95, 1.05)) if done else None,
                    addon=ref,
                )
            )
    return backups


def report_of(backups: list[Backup], days: int) -> HealthReport:
    return build_report(
        backups,
        destination_id="bench",
        destination_name="Nightly S3 (bench)",
        until=UNTIL,
        days=days,
        source=ReportSource.STORE,
    )


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def best_of(rounds: int, work: Callable[[], object]) -> Timing:
    """The fastest of `rounds` runs, wall and CPU apart (each its own minimum)."""
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return Timing(min(walls), min(cpus))


def empty_png() -> bytes:
    """The floor: the same canvas, no content, encoded the same way."""
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()


@dataclass(frozen=True)
class Row:
    days: int
    backups: int
    in_period: int
    build: Timing
    render: Timing
    png_bytes: int
    two_threads_wall: float


def measure(days: int, addons: int, rounds: int) -> Row:
    backups = backups_for(days, addons)
    report = report_of(backups, days)
    png = render_report_png(report)  # once untimed: fonts and caches are warm for all rows
    build = best_of(rounds, lambda: report_of(backups, days))
    render = best_of(rounds, lambda: render_report_png(report))

    def two_at_once() -> None:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(render_report_png, [report, report]))

    return Row(
        days=days,
        backups=len(backups),
        in_period=report.total,
        build=build,
        render=render,
        png_bytes=len(png),
        two_threads_wall=best_of(rounds, two_at_once).wall,
    )


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def print_table(rows: list[Row], floor: Timing, floor_bytes: int, addons: int, rounds: int) -> None:
    print(f"Report chart cost: hourly backups of {addons} addons, best of {rounds} rounds")
    print(
        f"{'days':>5}{'backups':>9}{'in period':>11}{'build_report':>15}{'render_png':>14}"
        f"{'render':>9}{'PNG':>8}{'2 threads':>11}"
    )
    print(
        f"{'':>5}{'given':>9}{'':>11}{'wall / CPU ms':>15}{'wall / CPU ms':>14}"
        f"{'x floor':>9}{'KB':>8}{'wall ms':>11}"
    )
    print(
        f"{'floor':>5}{'':>9}{'':>11}{'':>15}{f'{ms(floor.wall)} / {ms(floor.cpu)}':>14}"
        f"{'1.0x':>9}{floor_bytes / 1000:>8.1f}{'':>11}"
    )
    for r in rows:
        print(
            f"{r.days:>5}{r.backups:>9,}{r.in_period:>11,}"
            f"{f'{ms(r.build.wall)} / {ms(r.build.cpu)}':>15}"
            f"{f'{ms(r.render.wall)} / {ms(r.render.cpu)}':>14}"
            f"{r.render.cpu / floor.cpu:>8.1f}x{r.png_bytes / 1000:>8.1f}"
            f"{ms(r.two_threads_wall):>11}"
        )


METHOD = """\
Method. Synthetic backups, made in memory and seeded: one an hour for each addon over the
period and the BASELINE_LOOKBACK (14 days) before it, as the store hands them to
build_report; about 1 % failed, 0.5 % aborted, 0.2 % in progress, durations and sizes
jittered around a per-addon figure. "build_report" builds the HealthReport from them
(sorting, anomaly judging, missed runs, daily totals); "render_png" draws that report with
render_report_png (Figure + FigureCanvasAgg, three panels, savefig to PNG). Each is timed
alone, the best of N rounds after one untimed render, wall clock (time.perf_counter) and
this process's CPU (time.process_time; every thread counts) apart. The floor is savefig of
an empty 1200×700 figure with the same background and metadata: the cost of drawing and
encoding a PNG of that size at all; "x floor" is render CPU over floor CPU. "2 threads"
is the wall clock of two renders of the same report at once in a ThreadPoolExecutor, as
when two people ask: about twice the one-render wall means the renders take turns on the
GIL rather than run side by side. PNG KB is the rendered chart's size (1 KB = 1000 bytes;
Slack's target is under 200 KB). This machine is a shared VM: absolute times vary between
runs, the ratios less."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5, help="best of this many (default 5)")
    parser.add_argument("--addons", type=int, default=20, help="addons (default 20)")
    args = parser.parse_args()
    empty_png()  # once untimed: the first savefig loads the fonts
    floor = best_of(args.rounds, empty_png)
    rows = [measure(days, args.addons, args.rounds) for days in PERIODS]
    print_table(rows, floor, len(empty_png()), args.addons, args.rounds)
    print()
    print(METHOD)


if __name__ == "__main__":
    main()
