"""The report chart: a real PNG of the right size, not blank, opaque, deterministic,
safe with any name, and drawn safely from several threads at once."""

from __future__ import annotations

import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from bot.charts.report_chart import COLOURS, SIZE_COLOUR, legend_label, render_report_png, shorten
from bot.core.backups import Backup, BackupStatus, Ref
from bot.core.reports import HealthReport, ReportSource, build_report
from tests.processes import REPO, clean_env

NOW = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def status_of(index: int, *, failures: bool) -> BackupStatus:
    """Mostly completed; with `failures`, about 1% failed, 0.5% aborted, 0.3% in progress."""
    if failures and index % 97 == 0:
        return BackupStatus.FAILED
    if failures and index % 211 == 0:
        return BackupStatus.ABORTED
    if failures and index % 331 == 0:
        return BackupStatus.IN_PROGRESS
    return BackupStatus.COMPLETED


def hourly(days: int, addons: int = 20, *, failures: bool = True, name: str = "db") -> list[Backup]:
    """A backup an hour of each addon for `days`, newest first, ending just before NOW."""
    backups = []
    for hour in range(days * 24):
        created = NOW - timedelta(hours=hour, minutes=5)
        for addon in range(addons):
            status = status_of(hour * addons + addon, failures=failures)
            done = status is BackupStatus.COMPLETED
            backups.append(
                Backup(
                    id=f"{hour}-{addon}",
                    name=f"backup-{hour}-{addon}",
                    status=status,
                    status_text=status.value,
                    created_at=created,
                    completed_at=created + timedelta(minutes=2 + addon + hour % 3)
                    if done
                    else None,
                    expires_at=created + timedelta(days=40),
                    size_bytes=(addon + 1) * 50_000_000 if done else None,
                    addon=Ref(f"addon-{addon}", f"{name}-{addon}"),
                )
            )
    return backups


def report_of(backups: list[Backup], days: int, name: str = "Nightly S3") -> HealthReport:
    return build_report(
        backups,
        destination_id="dest-1",
        destination_name=name,
        until=NOW,
        days=days,
        source=ReportSource.STORE,
    )


def pixels(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def colours_in(image: Image.Image) -> set[object]:
    """Every RGB colour the image uses (as (r, g, b) tuples)."""
    counted = image.convert("RGB").getcolors(maxcolors=2_000_000)
    assert counted is not None
    return {colour for _, colour in counted}


def rgb(hex_colour: str) -> tuple[int, int, int]:
    return (int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16))


@pytest.mark.parametrize("days", [30, 90])
def test_a_chart_of_hourly_backups_of_20_addons_is_a_legible_png(days: int) -> None:
    report = report_of(hourly(days), days)
    # The data has every status, so each bar colour has something to draw.
    assert all(sum(getattr(d, s) for d in report.daily) for s in COLOURS)
    png = render_report_png(report)
    image = pixels(png)
    assert image.format == "PNG"
    assert abs(image.width - 1200) <= 5 and abs(image.height - 700) <= 5
    assert len(png) < 200_000
    # No matplotlib version stamped in: the bytes depend on the report alone.
    assert "Software" not in image.info
    colours = colours_in(image)
    assert len(colours) > 50  # text, bars and lines: far from blank
    # A solid background: every pixel opaque, so a dark theme shows the white card.
    alpha = image.convert("RGBA").getchannel("A")
    assert alpha.getextrema() == (255, 255)
    for status in ("completed", "failed", "aborted", "other"):
        assert rgb(COLOURS[status]) in colours, status
    assert rgb(SIZE_COLOUR) in colours


def test_no_failures_means_no_failed_colour() -> None:
    colours = colours_in(pixels(render_report_png(report_of(hourly(7, 3, failures=False), 7))))
    assert rgb(COLOURS["completed"]) in colours
    assert rgb(COLOURS["failed"]) not in colours
    assert rgb(COLOURS["aborted"]) not in colours
    assert rgb(COLOURS["other"]) not in colours


def test_names_that_look_like_math_or_are_very_long_are_drawn_as_text() -> None:
    # "$a^^b$" is not valid mathtext: drawn as math, it would raise while rendering.
    name = "$a^^b$ $x$ _hidden\n" + "z" * 200
    report = report_of(hourly(3, 6, name=name), 3, name=name)
    image = pixels(render_report_png(report))
    assert (image.width, image.height) == (1200, 700)


def test_legend_labels_are_short_escaped_and_never_hidden() -> None:
    label = legend_label("_$x$_" + "y" * 200)
    assert label == r" _\$x\$_" + "y" * 34 + "…"
    assert len(shorten("n" * 200)) == 40 and shorten("n" * 200).endswith("…")
    assert shorten("two\nlines\tand  tabs") == "two lines and tabs"
    assert legend_label("plain-name") == "plain-name"


def test_a_report_of_only_failures_draws_without_sizes_or_durations() -> None:
    failed = [
        Backup(
            id=f"f{i}",
            name=f"f{i}",
            status=BackupStatus.FAILED,
            status_text="failed",
            created_at=NOW - timedelta(hours=i + 1),
            addon=Ref("a", "only-failures"),
        )
        for i in range(10)
    ]
    colours = colours_in(pixels(render_report_png(report_of(failed, 2))))
    assert rgb(COLOURS["failed"]) in colours
    assert rgb(COLOURS["completed"]) not in colours


def test_the_same_report_makes_the_same_bytes_from_several_threads_at_once() -> None:
    reports = [report_of(hourly(14, 5), 14), report_of(hourly(30, 20), 30)]
    alone = [render_report_png(report) for report in reports]
    assert alone[0] != alone[1]
    assert render_report_png(reports[0]) == alone[0]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(render_report_png, reports * 4))
    assert together == alone * 4


def test_an_empty_report_is_refused_rather_than_drawn_empty() -> None:
    empty = report_of([], 7)
    assert empty.is_empty
    with pytest.raises(ValueError, match="nothing to draw"):
        render_report_png(empty)


def test_drawing_a_chart_never_loads_pyplot() -> None:
    # pyplot's global figure registry is not thread-safe; the adapter must not even import it.
    script = (
        "import sys\n"
        "from tests.charts.test_report_chart import hourly, report_of\n"
        "from bot.charts.report_chart import render_report_png\n"
        "render_report_png(report_of(hourly(2, 2), 2))\n"
        "print(sorted(m for m in sys.modules if m.startswith('matplotlib.pyplot')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
