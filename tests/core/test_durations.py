"""Durations as people type them, every way they can be wrong, and the way back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.durations import (
    EXPIRY_RANGE,
    MUTE_RANGE,
    REMIND_RANGE,
    STUCK_RANGE,
    DurationError,
    DurationRange,
    format_duration,
    parse_duration,
)
from bot.core.watches import DEFAULT_EXPIRY, DEFAULT_REMIND, DEFAULT_STUCK


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("6h", timedelta(hours=6)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1w2d3h4m", timedelta(weeks=1, days=2, hours=3, minutes=4)),
        ("30m1h", timedelta(hours=1, minutes=30)),
        ("0h5m", timedelta(minutes=5)),
        ("365d", timedelta(days=365)),
        ("52w", timedelta(weeks=52)),
    ],
)
def test_valid_forms(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["6H", " 6h ", "\t6h\n", "6 h", "6hours", "6 Hours", "6hr"])
def test_case_spaces_and_spelled_out_units(text: str) -> None:
    assert parse_duration(text) == timedelta(hours=6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90min", timedelta(minutes=90)),
        ("1minute", timedelta(minutes=1)),
        ("2days", timedelta(days=2)),
        ("1week", timedelta(weeks=1)),
        ("2wk", timedelta(weeks=2)),
    ],
)
def test_more_spelled_out_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "A duration is needed"),
        ("   ", "A duration is needed"),
        ("90", "add a unit: `90m`, `90h` or `90d`"),
        ("1h30", "`30` has no unit"),
        ("3x", "I don't know the unit `x`"),
        ("3fortnights", "I don't know the unit `fortnights`"),
        ("45s", "The smallest unit is minutes"),
        ("1h30sec", "The smallest unit is minutes"),
        ("2mo", "Months and years vary"),
        ("1y", "Months and years vary"),
        ("0m", "longer than zero"),
        ("0h0m", "longer than zero"),
        ("-3h", "can't be negative"),
        ("366d", "at most 365 days"),
        ("53w", "at most 365 days"),
        ("9999999999999999999d", "at most 365 days"),
        ("1" * 21 + "m", "at most 20 characters"),
        ("1.5h", "Use whole numbers"),
        ("1,5h", "Use whole numbers"),
        ("1h1h", "Give each unit once"),
        ("1h2hours", "Give each unit once"),
        ("h6", "can't read that as a duration"),
        ("six hours", "can't read that as a duration"),
        ("+6h", "can't read that as a duration"),
        ("６h", "can't read that as a duration"),  # a full-width digit
    ],
)
def test_every_error_says_what_is_wrong(text: str, fragment: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    assert fragment in str(caught.value)


def test_a_duration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="no unit"):
        parse_duration("90")


@pytest.mark.parametrize("text", ["<!channel>h", "1h<@U1>", "`x`", "6h&amp;"])
def test_errors_never_repeat_unsafe_text(text: str) -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration(text)
    message = str(caught.value)
    assert "<" not in message and "&" not in message
    assert text not in message


def test_unknown_units_are_shown_only_in_part() -> None:
    with pytest.raises(DurationError) as caught:
        parse_duration("1abcdefghijklmnop")
    assert "`abcdefghij`" in str(caught.value)


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(hours=72), "3d"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=6), "6h"),
        (timedelta(hours=36), "1d12h"),
        (timedelta(weeks=2), "14d"),
        (timedelta(days=90), "90d"),
        (timedelta(days=1, minutes=5), "1d5m"),
        (timedelta(minutes=1), "1m"),
        (timedelta(0), "0m"),
        (timedelta(seconds=90), "1m30s"),
        (timedelta(seconds=59, microseconds=999_999), "59s"),
        (timedelta(hours=-2), "-2h"),
    ],
)
def test_format_duration(delta: timedelta, expected: str) -> None:
    assert format_duration(delta) == expected


@pytest.mark.parametrize(
    "delta",
    [
        timedelta(minutes=1),
        timedelta(minutes=59),
        timedelta(hours=25, minutes=1),
        timedelta(days=7),
        timedelta(days=364, hours=23, minutes=59),
        timedelta(days=365),
    ],
)
def test_format_is_the_inverse_of_parse(delta: timedelta) -> None:
    assert parse_duration(format_duration(delta)) == delta


def test_a_range_includes_both_ends_and_nothing_else() -> None:
    hours = DurationRange(timedelta(hours=1), timedelta(hours=2))
    assert timedelta(hours=1) in hours
    assert timedelta(hours=2) in hours
    assert timedelta(minutes=59) not in hours
    assert timedelta(hours=2, minutes=1) not in hours
    assert "2h" not in hours


def test_a_range_describes_itself_compactly() -> None:
    assert EXPIRY_RANGE.describe() == "from 1h to 90d"
    assert STUCK_RANGE.describe() == "from 10m to 30d"
    assert MUTE_RANGE.describe() == "from 1m to 30d"
    assert REMIND_RANGE.describe() == "from 1h to 30d"


def test_the_watch_defaults_are_within_their_ranges() -> None:
    assert DEFAULT_EXPIRY in EXPIRY_RANGE
    assert DEFAULT_STUCK in STUCK_RANGE
    assert DEFAULT_REMIND in REMIND_RANGE
