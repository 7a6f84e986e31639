"""A health report as a PNG chart: backups a day by status, their size, durations.

Three panels on a solid white background, so the chart reads the same in
Slack's light and dark themes (a transparent PNG would put dark text on a dark
card): backups a day stacked by status; the total size of a day's completed
backups; and the duration of each completed backup of the biggest addons
(`HealthReport.chart_addons`). 1200×700 pixels and well under 200 KB.

Names come from the Northflank API. matplotlib reads `$...$` in any text as
math (and raises on what is not valid math), so every text with a name in it is
drawn with `parse_math=False` or, in legends, which have no such switch, with
its dollar signs escaped; long names are shortened.

Only the object-oriented API: a `Figure` with its own `FigureCanvasAgg`, never
pyplot, whose global figure registry is not thread-safe. Each call builds and
drops its own figure, so two reports can be drawn in two threads at once.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure

from bot.core.reports import CHART_ADDONS, DayTotals, HealthReport

# 12×7 inches at 100 dpi: 1200×700 pixels, wide enough for 90 daily bars in Slack's
# image preview. savefig is not given bbox_inches="tight", which would change the size.
WIDTH_INCHES, HEIGHT_INCHES, DPI = 12.0, 7.0, 100
BACKGROUND = "#ffffff"
TEXT = "#1d1d1d"
GRID = "#d9d9d9"
# Status colours: told apart by people with the common colour-vision deficiencies too
# (green, vermillion, orange and grey differ in lightness as well as hue). The grey is
# a cool one, off the neutral greys that antialiased black text makes on white, so a
# test (or an eye) finding it in the pixels knows it comes from a bar.
COLOURS = {
    "completed": "#2e9d5b",
    "failed": "#d1372b",
    "aborted": "#f0a202",
    "other": "#8a8d93",
}
LEGEND_NAMES = {
    "completed": "completed",
    "failed": "failed",
    "aborted": "aborted",
    "other": "other (in progress, scheduled…)",
}
SIZE_COLOUR = "#2f6fb3"
# Addon lines: none of the status colours, so red on the chart always means a failure.
ADDON_COLOURS = ("#2f6fb3", "#8e44ad", "#17a2b8", "#8c564b", "#e377c2")
NAME_LIMIT = 40
TITLE_NAME_LIMIT = 60
# Bars take this share of their day, leaving a gap that tells one day from the next.
BAR_WIDTH = 0.8
# More points than this and an addon's markers merge into a smear: a bare line then.
MARKERS_UP_TO = 150
_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))


def render_report_png(report: HealthReport) -> bytes:
    """The report's chart as PNG bytes, 1200×700 pixels, opaque.

    The same report always makes the same bytes. Raises ValueError for a report
    with no backups in its period (`report.is_empty`): an empty chart says
    nothing, so callers show a sentence instead.
    """
    if report.is_empty:
        raise ValueError("the report has no backups in its period: there is nothing to draw")
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI, facecolor=BACKGROUND)
    # Attaching the canvas is what makes savefig render with Agg, whatever the
    # process's default backend: no display is ever needed.
    FigureCanvasAgg(figure)
    grid = figure.add_gridspec(2, 2, height_ratios=(1.15, 1), hspace=0.45, wspace=0.18)
    counts = figure.add_subplot(grid[0, :])
    sizes = figure.add_subplot(grid[1, 0])
    durations = figure.add_subplot(grid[1, 1])
    _title(figure, report)
    _counts_panel(counts, report)
    _sizes_panel(sizes, report)
    _durations_panel(durations, report)
    figure.subplots_adjust(left=0.06, right=0.98, top=0.86, bottom=0.09)
    buffer = io.BytesIO()
    # No "Software" text chunk (matplotlib's version): the bytes depend on the report
    # alone, so a render can be compared with another (the Agg PNG has no date chunk).
    figure.savefig(buffer, format="png", facecolor=BACKGROUND, metadata={"Software": None})
    return buffer.getvalue()


def _title(figure: Figure, report: HealthReport) -> None:
    figure.suptitle(
        f"Backups of {shorten(report.destination_name, TITLE_NAME_LIMIT)}",
        x=0.06,
        ha="left",
        fontsize=15,
        y=0.975,
        fontweight="bold",
        color=TEXT,
        parse_math=False,
    )
    rate = report.success_rate
    days = "1 day" if report.days == 1 else f"{report.days} days"
    subtitle = (
        f"{report.since:%d %b %Y} – {report.until:%d %b %Y} UTC ({days})"
        f" · {report.total:,} backups"
        + (f" · {rate:.1%} of the finished ones completed" if rate is not None else "")
    )
    figure.text(0.06, 0.925, subtitle, ha="left", fontsize=10, color=TEXT, parse_math=False)


def _counts_panel(axes: Axes, report: HealthReport) -> None:
    _style(axes, "Backups a day, by status", "backups")
    lefts = _day_lefts(report.daily)
    bottoms = [0] * len(lefts)
    for status, colour in COLOURS.items():
        values = [getattr(d, status) for d in report.daily]
        if not any(values):
            continue  # a legend entry for a status that never happened is noise
        _bars(axes, lefts, values, bottoms, colour, LEGEND_NAMES[status])
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    axes.legend(loc="upper left", fontsize=8, ncols=4, frameon=False, labelcolor=TEXT)
    # Headroom above the tallest bar, for the legend.
    axes.set_ylim(0, max(max(bottoms, default=0), 1) * 1.25)
    _date_axis(axes, report)


def _sizes_panel(axes: Axes, report: HealthReport) -> None:
    biggest = max((d.completed_bytes for d in report.daily), default=0)
    # The largest unit the biggest day reaches, so the axis reads 1–1023 of something.
    unit, scale = next(((u, s) for u, s in _UNITS if biggest >= s), ("bytes", 1))
    _style(axes, "Size of the day's completed backups", unit)
    values = [d.completed_bytes / scale for d in report.daily]
    _bars(axes, _day_lefts(report.daily), values, [0.0] * len(values), SIZE_COLOUR, None)
    axes.set_ylim(0, max(max(values, default=0.0), 1.0) * 1.1)
    _date_axis(axes, report)


def _durations_panel(axes: Axes, report: HealthReport) -> None:
    addons = report.chart_addons
    timed = sum(1 for a in report.addons if a.durations)
    title = "Duration of each completed backup"
    if timed > len(addons):
        title += f", the {CHART_ADDONS} biggest addons"
    _style(axes, title, "minutes")
    for colour, addon in zip(ADDON_COLOURS, addons, strict=False):
        many = len(addon.durations) > MARKERS_UP_TO
        axes.plot(
            # One date2num call per addon: called per point, it was most of the render.
            date2num([when for when, _ in addon.durations]),
            [seconds / 60 for _, seconds in addon.durations],
            marker="" if many else "o",
            markersize=3,
            linewidth=1,
            color=colour,
            label=legend_label(addon.addon),
        )
    if addons:
        labels = [legend_label(a.addon) for a in addons]
        # Long names in three columns would run past the panel's right edge.
        longest = max(len(label) for label in labels)
        columns = 3 if longest <= 16 else 2 if longest <= 26 else 1
        rows = math.ceil(len(labels) / columns)
        top = max((s / 60 for a in addons for _, s in a.durations), default=1.0)
        # Headroom above the lines: a legend row takes about an eighth of the panel.
        axes.set_ylim(0, max(top, 1 / 60) * (1.1 + 0.13 * rows))
        axes.legend(loc="upper left", fontsize=7, frameon=False, labelcolor=TEXT, ncols=columns)
    else:
        axes.text(
            0.5,
            0.5,
            "no completed backup with a duration",
            transform=axes.transAxes,
            ha="center",
            color=TEXT,
            parse_math=False,
        )
    _date_axis(axes, report)


def _bars(
    axes: Axes,
    lefts: Sequence[float],
    heights: Sequence[float],
    bottoms: Sequence[float],
    colour: str,
    label: str | None,
) -> None:
    """Bars as one collection: `Axes.bar` makes an artist per bar, and four statuses
    over 91 days took longer to add than the whole chart takes to draw."""
    boxes = [
        ((x, b), (x, b + h), (x + BAR_WIDTH, b + h), (x + BAR_WIDTH, b))
        for x, h, b in zip(lefts, heights, bottoms, strict=True)
        if h > 0
    ]
    bars = PolyCollection(boxes, facecolors=colour, edgecolors="none", linewidths=0)
    if label is not None:
        bars.set_label(label)
    axes.add_collection(bars, autolim=False)


def _style(axes: Axes, title: str, ylabel: str) -> None:
    axes.set_facecolor(BACKGROUND)
    axes.set_title(title, loc="left", fontsize=10, color=TEXT, parse_math=False)
    axes.set_ylabel(ylabel, fontsize=9, color=TEXT)
    axes.tick_params(colors=TEXT, labelsize=8)
    axes.grid(axis="y", color=GRID, linewidth=0.6)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _date_axis(axes: Axes, report: HealthReport) -> None:
    """The report's days on the x axis, the same on every panel, so they line up."""
    locator = AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    first = _midnight(report.daily[0].day) if report.daily else report.since
    last = _midnight(report.daily[-1].day) + timedelta(days=1) if report.daily else report.until
    axes.set_xlim(float(date2num(first)), float(date2num(last)))


def _day_lefts(daily: Sequence[DayTotals]) -> list[float]:
    """Where each day's bar starts: its UTC midnight, as matplotlib's date number."""
    return [float(x) for x in date2num([_midnight(d.day) for d in daily])]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def shorten(name: str, limit: int = NAME_LIMIT) -> str:
    """A name on one line (an API name may hold newlines or tabs), at most `limit` long."""
    name = " ".join(name.split())
    return name if len(name) <= limit else name[: limit - 1] + "…"


def legend_label(name: str) -> str:
    """A name as a legend label: shortened, its `$` escaped (legend texts have no
    parse_math switch; matplotlib draws `\\$` as a plain `$`), and not hidden."""
    label = shorten(name).replace("$", r"\$")
    # matplotlib leaves a label that starts with "_" out of the legend.
    return f" {label}" if label.startswith("_") else label
