"""Sizes, durations and times written for people. Shared by Slack and the CLI."""

from __future__ import annotations

from datetime import datetime

_SIZE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "?"
    value = float(size_bytes)
    for unit in _SIZE_UNITS:
        if value < 1024 or unit == _SIZE_UNITS[-1]:
            return f"{size_bytes} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def duration(seconds: float | None) -> str:
    """Two most significant units: "45s", "3m 20s", "2h 5m", "3d 4h"."""
    if seconds is None:
        return "-"
    total = round(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    shown = parts[:2]
    if len(shown) == 2 and shown[1][0] == 0:
        shown = shown[:1]
    return " ".join(f"{amount}{unit}" for amount, unit in shown)


def time_until(moment: datetime | None, now: datetime) -> str:
    """ "in 3d 4h" or "2h ago"; used for expiry."""
    if moment is None:
        return "-"
    delta = (moment - now).total_seconds()
    if abs(delta) < 60:
        return "now"
    return f"in {duration(delta)}" if delta > 0 else f"{duration(delta)} ago"


def utc(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.strftime("%Y-%m-%d %H:%M UTC")
