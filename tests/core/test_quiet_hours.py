"""Quiet hours: how people type them, how they are stored, and which moments they hold,
across midnight and both daylight-saving nights."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.core.quiet_hours import QuietHours, QuietHoursError, parse_quiet_hours
from tests.strings import shown_in_slack

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
# Derandomized, so a run fails or passes the same way every time, with no example database.
PROPERTIES = settings(max_examples=300, deadline=None, derandomize=True, database=None)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


def berlin(
    year: int, month: int, day: int, hour: int, minute: int = 0, *, fold: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN, fold=fold)


def window(text: str, timezone: str = "UTC") -> QuietHours:
    start, end = (time.fromisoformat(part) for part in text.split("-"))
    return QuietHours(start=start, end=end, timezone=timezone)


# --- Parsing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("22:00-07:00", time(22), time(7)),
        ("22-07", time(22), time(7)),
        ("22-7", time(22), time(7)),
        ("9:30-17:00", time(9, 30), time(17)),
        ("22.00-07.00", time(22), time(7)),
        ("22:00–07:00", time(22), time(7)),  # en dash
        ("22:00—07:00", time(22), time(7)),  # em dash, as phones and Macs type "--"
        ("  22:00 - 07:00 ", time(22), time(7)),
        ("12:00-14:00", time(12), time(14)),
        ("0-6", time(0), time(6)),
        ("23:59-00:00", time(23, 59), time(0)),
        ("00:00-00:01", time(0), time(0, 1)),
        ("9-17:45", time(9), time(17, 45)),
    ],
)
def test_windows_people_type(text: str, start: time, end: time) -> None:
    assert parse_quiet_hours(text, None) == QuietHours(start=start, end=end, timezone="UTC")


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        (None, "UTC"),
        ("", "UTC"),
        ("  ", "UTC"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("europe/berlin", "Europe/Berlin"),
        (" AMERICA/NEW_YORK ", "America/New_York"),
        ("america/argentina/buenos_aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_time_zones_in_any_case_are_stored_by_their_iana_name(
    typed: str | None, canonical: str
) -> None:
    parsed = parse_quiet_hours("22-07", typed)
    assert parsed is not None and parsed.timezone == canonical


@pytest.mark.parametrize("text", ["off", "OFF", " Off "])
@pytest.mark.parametrize("timezone", [None, "Europe/Berlin", "Not/A_Zone", "<!channel>"])
def test_off_removes_quiet_hours_whatever_the_time_zone(text: str, timezone: str | None) -> None:
    assert parse_quiet_hours(text, timezone) is None


@pytest.mark.parametrize(
    ("text", "timezone", "message"),
    [
        ("", None, "Give quiet hours as start-end in 24-hour time, like `22:00-07:00`"),
        ("  ", None, "or `off` to remove them"),
        ("22:00", None, "I can't read `22:00` as quiet hours"),
        ("22:00-", None, "I can't read `22:00-` as quiet hours"),
        ("22:0-07:00", None, "I can't read `22:0-07:00` as quiet hours"),
        ("2200-0700", None, "like `22:00-07:00` or `22-07`"),
        ("22:00-07:00-09:00", None, "I can't read"),
        ("22:00 07:00", None, "I can't read"),
        ("night", None, "I can't read `night` as quiet hours"),
        ("-1-07", None, "I can't read"),
        ("10pm-7am", None, "Use 24-hour times, like `22:00-07:00` for 10pm to 7am."),
        ("10 PM - 7 AM", None, "Use 24-hour times"),
        ("24:00-07:00", None, "`24` is not an hour: hours go from 0 to 23 (midnight is `00:00`)."),
        ("22-24", None, "`24` is not an hour"),
        ("25-07", None, "`25` is not an hour: hours go from 0 to 23."),
        ("22:00-07:60", None, "`07:60` is not a time: minutes go from 00 to 59."),
        ("22.75-07", None, "`22:75` is not a time"),
        ("22:00-22:00", None, "`22:00-22:00` would be quiet all day and night"),
        ("7-07:00", None, "need different start and end times; `07:00-07:00`"),
        ("22-07", "Mars/Olympus", "I don't know the time zone `Mars/Olympus`. Use an IANA name"),
        ("22-07", "Berln", "Did you mean `Europe/Berlin`?"),
        ("22-07", "europe/berln", "Did you mean `Europe/Berlin`?"),
        ("22-07", "new york", "Did you mean `America/New_York`?"),
        ("22-07", "PST", "like `Europe/Berlin`, `America/New_York` or `UTC`."),
        ("22-07", "UTC+2", "`UTC+2` is a fixed offset, which misses daylight saving."),
        ("22-07", "+02:00", "`+02:00` is a fixed offset"),
        ("22-07", "GMT-5", "is a fixed offset"),
        ("22-07", "localtime", "I don't know the time zone `localtime`"),
        ("22-07", "Factory", "I don't know the time zone `Factory`"),
        ("22-07", "../../etc/passwd", "I don't know the time zone"),
    ],
)
def test_refusals_say_what_is_wrong(text: str, timezone: str | None, message: str) -> None:
    with pytest.raises(QuietHoursError) as refused:
        parse_quiet_hours(text, timezone)
    assert message in str(refused.value)


def test_an_abbreviation_is_never_suggested_for_a_misspelt_zone() -> None:
    # `CEST` is one letter from `EST`, a zone that never changes its clocks: a trap.
    with pytest.raises(QuietHoursError) as refused:
        parse_quiet_hours("22-07", "CEST")
    assert "Did you mean" not in str(refused.value)
    assert "`Europe/Berlin`" in str(refused.value)


@pytest.mark.parametrize(
    ("text", "timezone"),
    [
        ("<!channel> 22-07 " + "x" * 200, None),
        ("22-07", "<!channel>/`here`" + "y" * 200),
        ("22-07", "<@U123>&" + "z" * 200),
    ],
)
def test_echoed_input_is_escaped_and_short(text: str, timezone: str | None) -> None:
    with pytest.raises(QuietHoursError) as refused:
        parse_quiet_hours(text, timezone)
    message = shown_in_slack(str(refused.value))
    assert "<" not in message and ">" not in message
    assert "&lt;" in message
    spans = re.findall(r"`([^`]*)`", message)
    echoed = [span for span in spans if "&lt;" in span]
    unescaped = [html.unescape(span) for span in echoed]
    assert echoed and all(len(span) <= 40 for span in unescaped)


# --- The value itself and its stored form ---------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "timezone", "message"),
    [
        (time(7), time(7), "UTC", "different start and end times"),
        (time(22, 0, 30), time(7), "UTC", "whole local minutes"),
        (time(22), time(7, 0, 0, 1), "UTC", "whole local minutes"),
        (time(22, tzinfo=UTC), time(7), "UTC", "whole local minutes"),
        (time(22), time(7), "europe/berlin", "I don't know the time zone `europe/berlin`"),
        (time(22), time(7), "Mars/Olympus", "I don't know the time zone"),
        (time(22), time(7), "", "I don't know the time zone"),
    ],
)
def test_a_window_can_only_be_built_valid(
    start: time, end: time, timezone: str, message: str
) -> None:
    with pytest.raises(QuietHoursError, match=re.escape(message)):
        QuietHours(start=start, end=end, timezone=timezone)


@pytest.mark.parametrize(
    ("quiet", "described", "stored"),
    [
        (
            window("22:00-07:00", "Europe/Berlin"),
            "22:00–07:00 Europe/Berlin",
            "22:00-07:00 Europe/Berlin",
        ),
        (window("09:30-17:05"), "09:30–17:05 UTC", "09:30-17:05 UTC"),
        (
            window("00:00-06:00", "America/Argentina/Buenos_Aires"),
            "00:00–06:00 America/Argentina/Buenos_Aires",
            "00:00-06:00 America/Argentina/Buenos_Aires",
        ),
    ],
)
def test_describe_and_stored_form(quiet: QuietHours, described: str, stored: str) -> None:
    assert quiet.describe() == described
    assert quiet.to_text() == stored
    assert QuietHours.from_text(stored) == quiet


def test_a_window_typed_two_ways_is_stored_the_same() -> None:
    # The store compares stored forms to see whether quiet hours changed.
    typed = parse_quiet_hours("22-7", "europe/berlin")
    spelled = parse_quiet_hours("22:00–07:00", "Europe/Berlin")
    assert typed is not None and spelled is not None
    assert typed.to_text() == spelled.to_text() == "22:00-07:00 Europe/Berlin"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "off",
        "22:00-07:00",
        "22-07 UTC",
        "22:00–07:00 UTC",
        "22:00-07:00  UTC",
        "22:00-07:00 UTC extra",
        " 22:00-07:00 UTC",
        "22:00-07:00 europe/berlin",
        "22:00-07:00 Mars/Olympus",
        "22:00-22:00 UTC",
        "25:00-07:00 UTC",
        "22:00-07:61 UTC",
        "<!channel>" * 20,
    ],
)
def test_from_text_refuses_anything_to_text_does_not_write(text: str) -> None:
    with pytest.raises(QuietHoursError) as refused:
        QuietHours.from_text(text)
    assert "<" not in shown_in_slack(str(refused.value))


ZONE_NAMES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",  # moves its clocks by half an hour
    "America/Santiago",  # changes at midnight
    "Pacific/Apia",  # skipped 30 December 2011 entirely
    "Asia/Kathmandu",
    "America/St_Johns",
]
minutes_of_the_day = st.builds(
    time,
    hour=st.one_of(st.integers(0, 3), st.integers(0, 23)),  # the small hours, when clocks change
    minute=st.one_of(st.sampled_from([0, 30, 59]), st.integers(0, 59)),
)


@st.composite
def windows(draw: st.DrawFn) -> QuietHours:
    start, end = draw(minutes_of_the_day), draw(minutes_of_the_day)
    assume(start != end)
    return QuietHours(start=start, end=end, timezone=draw(st.sampled_from(ZONE_NAMES)))


@settings(PROPERTIES, max_examples=200)
@given(quiet=windows())
def test_stored_form_round_trips(quiet: QuietHours) -> None:
    assert QuietHours.from_text(quiet.to_text()) == quiet
    window_text, timezone = quiet.to_text().split(" ")
    assert parse_quiet_hours(window_text, timezone) == quiet


# --- Which moments are held -----------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "held_until"),
    [
        (utc(2026, 5, 4, 21, 59, 59, 999999), None),
        (utc(2026, 5, 4, 22, 0), utc(2026, 5, 5, 7, 0)),  # the start is inside
        (utc(2026, 5, 4, 23, 30), utc(2026, 5, 5, 7, 0)),
        (utc(2026, 5, 5, 0, 0), utc(2026, 5, 5, 7, 0)),
        (utc(2026, 5, 5, 3, 0), utc(2026, 5, 5, 7, 0)),
        (utc(2026, 5, 5, 6, 59, 59, 999999), utc(2026, 5, 5, 7, 0)),
        (utc(2026, 5, 5, 7, 0), None),  # the end is outside
        (utc(2026, 5, 5, 12, 0), None),
        (utc(2026, 12, 31, 23, 0), utc(2027, 1, 1, 7, 0)),
    ],
)
def test_a_window_across_midnight(now: datetime, held_until: datetime | None) -> None:
    assert window("22:00-07:00").held_until(now) == held_until


@pytest.mark.parametrize(
    ("now", "held_until"),
    [
        (utc(2026, 5, 4, 11, 59), None),
        (utc(2026, 5, 4, 12, 0), utc(2026, 5, 4, 14, 0)),
        (utc(2026, 5, 4, 13, 59, 59), utc(2026, 5, 4, 14, 0)),
        (utc(2026, 5, 4, 14, 0), None),
        (utc(2026, 5, 4, 23, 0), None),
        (utc(2026, 5, 5, 1, 0), None),
    ],
)
def test_a_window_within_one_day(now: datetime, held_until: datetime | None) -> None:
    assert window("12:00-14:00").held_until(now) == held_until


def test_now_in_any_zone_gives_the_same_answer_in_utc() -> None:
    quiet = window("22:00-07:00", "Europe/Berlin")
    # 23:30 in Berlin (summer, +2) is 17:30 in New York and 21:30 UTC.
    expected = utc(2026, 7, 1, 5, 0)
    for now in (
        berlin(2026, 6, 30, 23, 30),
        utc(2026, 6, 30, 21, 30),
        datetime(2026, 6, 30, 17, 30, tzinfo=NEW_YORK),
    ):
        until = quiet.held_until(now)
        assert until == expected
        assert until is not None and until.tzinfo is UTC


def test_a_window_is_in_its_own_zone_not_in_utc() -> None:
    quiet = window("22:00-07:00", "Europe/Berlin")
    assert quiet.held_until(utc(2026, 1, 15, 21, 30)) == utc(2026, 1, 16, 6, 0)  # 22:30 CET
    assert quiet.held_until(utc(2026, 1, 16, 6, 0)) is None  # 07:00 CET
    assert quiet.held_until(utc(2026, 1, 15, 20, 59)) is None  # 21:59 CET


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        window("22:00-07:00").held_until(datetime(2026, 5, 4, 23, 0))


class TestSpringForward:
    """Berlin, 29 March 2026: at 02:00 CET (01:00 UTC) the clocks jump to 03:00 CEST."""

    jump = utc(2026, 3, 29, 1, 0)

    def test_a_window_ending_at_a_skipped_time_ends_at_the_jump(self) -> None:
        quiet = window("01:00-02:30", "Europe/Berlin")
        assert quiet.held_until(berlin(2026, 3, 29, 1, 0)) == self.jump
        assert quiet.held_until(berlin(2026, 3, 29, 1, 59)) == self.jump
        assert quiet.held_until(self.jump) is None  # 03:00 CEST
        assert quiet.held_until(berlin(2026, 3, 29, 3, 15)) is None

    def test_a_night_window_ending_at_a_skipped_time_is_an_hour_shorter(self) -> None:
        quiet = window("22:00-02:30", "Europe/Berlin")
        start = berlin(2026, 3, 28, 22, 0)
        assert quiet.held_until(start) == self.jump
        assert self.jump - start == timedelta(hours=4)  # not the usual 4.5

    def test_a_window_starting_at_a_skipped_time_starts_at_the_jump(self) -> None:
        quiet = window("02:30-06:00", "Europe/Berlin")
        assert quiet.held_until(self.jump - timedelta(microseconds=1)) is None
        assert quiet.held_until(self.jump) == berlin(2026, 3, 29, 6, 0)
        assert berlin(2026, 3, 29, 6, 0) == utc(2026, 3, 29, 4, 0)

    def test_a_window_wholly_inside_the_skipped_hour_holds_nothing_that_night(self) -> None:
        quiet = window("02:10-02:40", "Europe/Berlin")
        for minutes in range(-90, 90):
            assert quiet.held_until(self.jump + timedelta(minutes=minutes)) is None
        # The night before and after it holds as usual.
        assert quiet.held_until(berlin(2026, 3, 28, 2, 20)) == berlin(2026, 3, 28, 2, 40)
        assert quiet.held_until(berlin(2026, 3, 30, 2, 20)) == berlin(2026, 3, 30, 2, 40)

    def test_a_night_window_across_the_jump_ends_at_local_morning(self) -> None:
        quiet = window("22:00-07:00", "Europe/Berlin")
        assert quiet.held_until(berlin(2026, 3, 28, 22, 0)) == utc(2026, 3, 29, 5, 0)  # 07:00 CEST
        assert quiet.held_until(utc(2026, 3, 29, 5, 0)) is None
        assert quiet.held_until(berlin(2026, 3, 29, 22, 0)) == utc(2026, 3, 30, 5, 0)

    def test_when_the_jump_swallows_the_gap_between_windows_the_end_wins(self) -> None:
        # 02:30-02:00 is quiet all but half an hour a day; that half hour is skipped
        # this night, so one window ends at the jump and the next begins there.
        quiet = window("02:30-02:00", "Europe/Berlin")
        assert quiet.held_until(berlin(2026, 3, 28, 12, 0)) == self.jump
        assert quiet.held_until(self.jump) is None  # the digest goes out
        after = self.jump + timedelta(seconds=1)
        assert quiet.held_until(after) == berlin(2026, 3, 30, 2, 0)


class TestFallBack:
    """Berlin, 25 October 2026: at 03:00 CEST (01:00 UTC) the clocks go back to 02:00 CET,
    so 02:00-02:59 is shown twice: 00:00-00:59 UTC, then 01:00-01:59 UTC."""

    def test_a_window_ending_in_the_repeated_hour_ends_at_its_first_occurrence(self) -> None:
        quiet = window("01:00-02:30", "Europe/Berlin")
        # In UTC: an aware time in a repeated hour never equals one in another zone.
        first_0230 = berlin(2026, 10, 25, 2, 30, fold=0).astimezone(UTC)
        assert first_0230 == utc(2026, 10, 25, 0, 30)
        assert quiet.held_until(berlin(2026, 10, 25, 1, 0)) == first_0230
        assert quiet.held_until(berlin(2026, 10, 25, 2, 10, fold=0)) == first_0230
        assert quiet.held_until(first_0230) is None
        # The clock shows 02:10 again an hour later: the window is over all the same.
        assert quiet.held_until(berlin(2026, 10, 25, 2, 10, fold=1)) is None
        assert quiet.held_until(berlin(2026, 10, 25, 2, 40, fold=1)) is None

    def test_a_window_starting_in_the_repeated_hour_starts_at_its_first_occurrence(
        self,
    ) -> None:
        quiet = window("02:30-04:00", "Europe/Berlin")
        assert quiet.held_until(utc(2026, 10, 25, 0, 29)) is None
        assert quiet.held_until(utc(2026, 10, 25, 0, 30)) == utc(2026, 10, 25, 3, 0)
        assert quiet.held_until(berlin(2026, 10, 25, 2, 10, fold=1)) == utc(2026, 10, 25, 3, 0)

    def test_a_night_window_across_the_change_is_an_hour_longer(self) -> None:
        quiet = window("22:00-07:00", "Europe/Berlin")
        start = berlin(2026, 10, 24, 22, 0)
        until = quiet.held_until(start)
        assert until == utc(2026, 10, 25, 6, 0)  # 07:00 CET
        assert until - start == timedelta(hours=10)

    def test_the_longest_hold_is_a_day_and_an_hour(self) -> None:
        quiet = window("07:01-07:00", "Europe/Berlin")
        start = berlin(2026, 10, 24, 7, 1)
        until = quiet.held_until(start)
        assert until is not None and until - start == timedelta(hours=24, minutes=59)


def test_new_york_changes_its_clocks_on_other_days() -> None:
    quiet = window("01:00-02:30", "America/New_York")
    # 8 March 2026: 02:00 EST (07:00 UTC) becomes 03:00 EDT.
    assert quiet.held_until(utc(2026, 3, 8, 6, 30)) == utc(2026, 3, 8, 7, 0)
    # 29 March, Berlin's night, is an ordinary one in New York.
    assert quiet.held_until(utc(2026, 3, 29, 5, 30)) == utc(2026, 3, 29, 6, 30)


def test_a_day_the_calendar_skipped() -> None:
    # Samoa went from 29 December 2011 straight to 31 December (at 10:00 UTC).
    quiet = window("22:00-07:00", "Pacific/Apia")
    skip = utc(2011, 12, 30, 10, 0)
    assert quiet.held_until(datetime(2011, 12, 29, 22, 30, tzinfo=ZoneInfo("Pacific/Apia"))) == (
        skip
    )
    assert quiet.held_until(skip) is None
    # The end wins, so the night's digest goes out at the skip; but the clock now
    # reads midnight on the 31st, inside the window of the 30th (a day that never
    # was), so holding starts again until 07:00 that morning.
    assert quiet.held_until(skip + timedelta(minutes=1)) == utc(2011, 12, 30, 17, 0)


def test_clocks_going_back_across_midnight() -> None:
    # St. John's, 7 November 2010: at 00:01 NDT (02:31 UTC) the clocks went back to
    # 23:01 NST on the 6th, so the 7th had begun before the clock showed the 6th again.
    quiet = window("00:00-00:30", "America/St_Johns")
    midnight = utc(2010, 11, 7, 2, 30)  # 00:00 NDT
    end = utc(2010, 11, 7, 4, 0)  # 00:30 NST, the only 00:30 that night
    assert quiet.held_until(midnight - timedelta(seconds=1)) is None
    assert quiet.held_until(midnight) == end
    # 23:30 NST on the 6th, by the clock, but inside the window of the 7th.
    assert quiet.held_until(utc(2010, 11, 7, 3, 0)) == end
    assert quiet.held_until(end) is None


# --- Properties -----------------------------------------------------------------------


@cache
def clock_changes(zone_name: str) -> tuple[datetime, ...]:
    """The moments in 2010-2012 and 2026-2027 at which the zone's clocks changed."""
    zone = ZoneInfo(zone_name)
    found: list[datetime] = []
    for year in (2010, 2011, 2012, 2026, 2027):
        hour = utc(year, 1, 1)
        while hour.year == year:
            later = hour + timedelta(hours=1)
            if later.astimezone(zone).utcoffset() != hour.astimezone(zone).utcoffset():
                low, high = hour, later
                while high - low > timedelta(seconds=1):
                    middle = low + (high - low) / 2
                    same = middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset()
                    low, high = (middle, high) if same else (low, middle)
                found.append(high)
            hour = later
    return tuple(found)


def test_clock_changes_finds_berlins() -> None:
    assert utc(2026, 3, 29, 1, 0) in clock_changes("Europe/Berlin")
    assert utc(2026, 10, 25, 1, 0) in clock_changes("Europe/Berlin")
    assert clock_changes("UTC") == ()


@st.composite
def windows_and_moments(draw: st.DrawFn) -> tuple[QuietHours, datetime]:
    """A window and a moment, often within a day and a half of a clock change,
    given in any of the zones."""
    quiet = draw(windows())
    changes = clock_changes(quiet.timezone)
    anywhere = draw(
        st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1))
    ).replace(tzinfo=UTC)
    near_a_change = draw(st.booleans())
    if changes and near_a_change:
        change = draw(st.sampled_from(changes))
        seconds = draw(st.one_of(st.integers(-3600, 3600), st.integers(-36 * 3600, 36 * 3600)))
        anywhere = change + timedelta(seconds=seconds, microseconds=draw(st.integers(0, 999_999)))
    shown_in = ZoneInfo(draw(st.sampled_from(ZONE_NAMES)))
    return quiet, anywhere.astimezone(shown_in)


@settings(PROPERTIES, max_examples=1000)
@given(case=windows_and_moments(), fraction=st.integers(0, 2**32 - 1))
def test_a_hold_is_one_contiguous_stretch_ending_outside(
    case: tuple[QuietHours, datetime], fraction: int
) -> None:
    quiet, shown_now = case
    until = quiet.held_until(shown_now)
    assume(until is not None)
    assert until is not None
    assert until.tzinfo is UTC
    # Arithmetic in UTC: in other zones it is wall-clock arithmetic, which drops `fold`.
    now = shown_now.astimezone(UTC)
    assert now < until <= now + timedelta(hours=25)
    assert quiet.held_until(until) is None
    span = (until - now) // timedelta(microseconds=1)
    later = now + timedelta(microseconds=span * fraction // 2**32)
    assert now <= later < until
    assert quiet.held_until(later) == until
    assert quiet.held_until(until - timedelta(microseconds=1)) == until


@PROPERTIES
@given(
    start=minutes_of_the_day,
    end=minutes_of_the_day,
    zone_name=st.sampled_from(["UTC", "Asia/Kolkata", "Asia/Tokyo"]),
    now=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1)),
)
def test_without_clock_changes_it_is_plain_clock_arithmetic(
    start: time, end: time, zone_name: str, now: datetime
) -> None:
    """Against an independent reckoning: in a zone whose offset never changes, `now`
    is held when its local time is in [start, end) (wrapping past midnight), until
    the next time the clock shows `end`."""
    assume(start != end)
    zone = ZoneInfo(zone_name)
    local = now.replace(tzinfo=zone)
    crosses_midnight = end < start
    if crosses_midnight:
        inside = local.time() >= start or local.time() < end
    else:
        inside = start <= local.time() < end
    expected = None
    if inside:
        end_today = datetime.combine(local.date(), end, tzinfo=zone)
        end_next = end_today if end_today > local else end_today + timedelta(days=1)
        expected = end_next.astimezone(UTC)
    assert window(f"{start:%H:%M}-{end:%H:%M}", zone_name).held_until(local) == expected
