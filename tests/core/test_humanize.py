from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core import humanize

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (None, "?"),
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (5 * 1024**3, "5.0 GiB"),
        (3 * 1024**6, "3072.0 PiB"),
    ],
)
def test_size(size: int | None, text: str) -> None:
    assert humanize.size(size) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0s"),
        (45, "45s"),
        (200, "3m 20s"),
        (3600, "1h"),
        (7500, "2h 5m"),
        (3 * 86400 + 4 * 3600 + 59, "3d 4h"),
        (86400 + 30, "1d"),
    ],
)
def test_duration(seconds: float | None, text: str) -> None:
    assert humanize.duration(seconds) == text


def test_time_until() -> None:
    assert humanize.time_until(NOW + timedelta(days=2, hours=3), NOW) == "in 2d 3h"
    assert humanize.time_until(NOW - timedelta(hours=5), NOW) == "5h ago"
    assert humanize.time_until(NOW + timedelta(seconds=20), NOW) == "now"
    assert humanize.time_until(None, NOW) == "-"


def test_utc() -> None:
    assert humanize.utc(NOW) == "2026-01-01 12:00 UTC"
