"""Quiet hours for a watch, like `quiet=22:00-07:00 tz=Europe/Berlin`. Pure.

Alerts due during quiet hours are held and posted as one digest when the
window ends, so this module answers one question: is `now` in a window, and
if so, when does that window end?

People state quiet hours in the wall-clock time of where they live, so a
window is wall-clock times in an IANA time zone, and daylight saving decides
which real moments those are. Each local day has one window, from the first
moment the local clock reads `start` or later to the first moment it reads
`end` or later (the next day when the window crosses midnight). That one rule
covers both daylight-saving nights:

- a time the clock skips (02:30 when it jumps from 02:00 to 03:00) is reached
  at the jump itself, the first valid moment after it, so a window ending
  then still ends that night;
- a time the clock shows twice (02:30 when it falls back from 03:00 to 02:00)
  is reached at its first occurrence, so the hold does not run an extra hour.

The windows of consecutive days never overlap. If one ends at the very moment
the next begins (only possible when a clock jump swallows the gap between
them), the end wins: that moment is outside, so the held digest goes out.

Error messages are written for people; whatever they echo of the input is
quoted (bot.core.quoting) and shortened to `_ECHO_LIMIT` characters. The
surface that shows a message escapes it for its own markup (Slack: mrkdwn).
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from bot.core.quoting import quote

OFF = "off"
_ECHO_LIMIT = 40
_EXAMPLE = "`22:00-07:00`"
_TZ_EXAMPLES = "`Europe/Berlin`, `America/New_York` or `UTC`"
# 24-hour times: `7`, `07`, `7:30`, `07.30`, joined by a hyphen, en dash or em
# dash (phones and Macs turn typed dashes into the latter two).
_TIME = r"([0-9]{1,2})(?:[:.]([0-9]{2}))?"
_WINDOW = re.compile(rf"{_TIME}\s*[-–—]\s*{_TIME}")
_TWELVE_HOUR = re.compile(r"[0-9]\s*[ap]\.?m\b", re.IGNORECASE)
# `+02:00`, `UTC+2`, `GMT-5`: a zone's offset at one time of the year, not the zone.
_FIXED_OFFSET = re.compile(r"(?:utc|gmt)?\s*[+-]\s*[0-9]{1,2}(?::?[0-9]{2})?", re.IGNORECASE)
# to_text's form, read back strictly: the store only ever holds what to_text wrote.
_STORED = re.compile(r"([0-9]{2}):([0-9]{2})-([0-9]{2}):([0-9]{2}) (\S+)")
# Names the time-zone database lists that are not places: the host's own zone
# (which would change with the machine) and the placeholder for "unset".
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


class QuietHoursError(ValueError):
    """Quiet hours that can't be used; the message tells a person why."""


@dataclass(frozen=True, slots=True)
class QuietHours:
    """A daily window, in local wall-clock time, during which alerts are held."""

    start: time
    end: time  # before `start`: the window crosses midnight
    timezone: str = "UTC"  # a canonical IANA name, as `parse_quiet_hours` returns it

    def __post_init__(self) -> None:
        # Checked here too, not only when parsing, so that no window built any
        # other way (from_text, code) can hold a zone name that won't load.
        for moment in (self.start, self.end):
            if moment.tzinfo is not None or moment.second or moment.microsecond:
                raise QuietHoursError("Quiet hours start and end on whole local minutes.")
        if self.start == self.end:
            raise QuietHoursError(_same_start_and_end(self.start))
        if _zone_names().get(self.timezone.lower()) != self.timezone:
            raise QuietHoursError(
                f"I don't know the time zone {quote(self.timezone, _ECHO_LIMIT)}."
            )

    def held_until(self, now: datetime) -> datetime | None:
        """When the window holding `now` ends, in UTC; None when `now` is outside every window.

        The start is inside and the end outside. The answer is after `now` and at
        most a day and an hour later: a window is under a day long, plus the hour
        (in a few zones, more) that clocks go back.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("held_until needs an aware datetime, not a naive one")
        zone = ZoneInfo(self.timezone)
        moment = now.astimezone(UTC)
        today = moment.astimezone(zone).date()
        # Yesterday's window may still run (it crosses midnight); tomorrow's is
        # only checked for zones whose clocks jump back across midnight. The day
        # before yesterday only matters for the end-wins rule.
        windows = [self._window_on(today + timedelta(days=back), zone) for back in (-2, -1, 0, 1)]
        if any(end == moment for _, end in windows):
            return None
        return next((end for begin, end in windows if begin <= moment < end), None)

    def describe(self) -> str:
        """ "22:00–07:00 Europe/Berlin", for Slack replies."""
        return f"{self.start:%H:%M}–{self.end:%H:%M} {self.timezone}"

    def to_text(self) -> str:
        """ "22:00-07:00 Europe/Berlin": one text column's worth, read back by `from_text`."""
        return f"{self.start:%H:%M}-{self.end:%H:%M} {self.timezone}"

    @classmethod
    def from_text(cls, text: str) -> QuietHours:
        """The window `to_text` wrote; QuietHoursError for anything else."""
        match = _STORED.fullmatch(text)
        if match is None:
            raise QuietHoursError(
                f"Stored quiet hours {quote(text, _ECHO_LIMIT)} are not like "
                "`22:00-07:00 Europe/Berlin`."
            )
        start_hour, start_minute, end_hour, end_minute, timezone = match.groups()
        return cls(
            start=_time(start_hour, start_minute),
            end=_time(end_hour, end_minute),
            timezone=timezone,
        )

    def _window_on(self, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The window that starts on local `day`, as [begin, end) in UTC."""
        end_day = day + timedelta(days=1) if self.end < self.start else day
        return (
            _first_moment_showing(datetime.combine(day, self.start), zone),
            _first_moment_showing(datetime.combine(end_day, self.end), zone),
        )


def parse_quiet_hours(window: str, timezone: str | None) -> QuietHours | None:
    """The `quiet=` and `tz=` values of a command; None for `off` (no quiet hours).

    The window is start-end in 24-hour time: `22:00-07:00`, `22-07`, `9:30-17:00`
    or `22.00-07.00`, with a hyphen, en dash or em dash. The time zone is an
    IANA name in any case (`europe/berlin`), UTC when not given; with `off`
    it is ignored, whatever it says.
    """
    stripped = window.strip()
    if stripped.lower() == OFF:
        return None
    if not stripped:
        raise QuietHoursError(
            f"Give quiet hours as start-end in 24-hour time, like {_EXAMPLE}, "
            "or `off` to remove them."
        )
    if _TWELVE_HOUR.search(stripped):
        raise QuietHoursError(f"Use 24-hour times, like {_EXAMPLE} for 10pm to 7am.")
    match = _WINDOW.fullmatch(stripped)
    if match is None:
        raise QuietHoursError(
            f"I can't read {quote(stripped, _ECHO_LIMIT)} as quiet hours. Write start-end "
            f"in 24-hour time, like {_EXAMPLE} or `22-07`, or `off` to remove them."
        )
    start_hour, start_minute, end_hour, end_minute = match.groups()
    start = _time(start_hour, start_minute)
    end = _time(end_hour, end_minute)
    if start == end:
        raise QuietHoursError(_same_start_and_end(start))
    return QuietHours(start=start, end=end, timezone=_zone_name(timezone))


def _time(hour_text: str, minute_text: str | None) -> time:
    hour = int(hour_text)
    minute = int(minute_text) if minute_text is not None else 0
    if hour > 23:
        midnight = " (midnight is `00:00`)" if hour == 24 else ""
        raise QuietHoursError(
            f"{quote(hour_text)} is not an hour: hours go from 0 to 23{midnight}."
        )
    if minute > 59:
        raise QuietHoursError(
            f"{quote(f'{hour_text}:{minute_text}')} is not a time: minutes go from 00 to 59."
        )
    return time(hour, minute)


def _same_start_and_end(moment: time) -> str:
    return (
        f"Quiet hours need different start and end times; `{moment:%H:%M}-{moment:%H:%M}` "
        "would be quiet all day and night."
    )


def _zone_name(given: str | None) -> str:
    """The canonical IANA name for what a user typed; UTC when nothing was."""
    typed = (given or "").strip()
    if not typed:
        return "UTC"
    known = _zone_names().get(typed.lower())
    if known is not None:
        return known
    echoed = quote(typed, _ECHO_LIMIT)
    if _FIXED_OFFSET.fullmatch(typed):
        raise QuietHoursError(
            f"{echoed} is a fixed offset, which misses daylight saving. "
            f"Use a place's time zone, like {_TZ_EXAMPLES}."
        )
    guess = _closest_zone(typed)
    did_you_mean = f" Did you mean {quote(guess)}?" if guess else ""
    raise QuietHoursError(
        f"I don't know the time zone {echoed}.{did_you_mean} Use an IANA name, like {_TZ_EXAMPLES}."
    )


def _closest_zone(typed: str) -> str | None:
    """The zone a user likely meant: by its city (`new york`, `Berln`) or a near spelling."""
    wanted = typed.lower().replace(" ", "_")
    # Only places: an abbreviation like `EST` is a trap (it never observes daylight
    # saving), so it is accepted when typed but never suggested.
    places = {lower: name for lower, name in _zone_names().items() if "/" in name}
    # Sorted, so that of two zones named after one city the same is always suggested.
    by_city = {name.rsplit("/", 1)[-1].lower(): name for name in sorted(places.values())}
    for known in (by_city, places):
        close = difflib.get_close_matches(wanted, known.keys(), n=1, cutoff=0.8)
        if close:
            return known[close[0]]
    return None


@functools.cache
def _zone_names() -> dict[str, str]:
    """Every zone the time-zone database knows, by lower-cased name.

    Cached: listing them reads the database, and it does not change while the bot runs.
    """
    return {name.lower(): name for name in available_timezones() - _NOT_PLACES}


def _first_moment_showing(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first moment, in UTC, at which the clock in `zone` reads `wall` or later."""
    moment = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall_clock(moment, zone) == wall:
        # fold=0 is the first of two readings in a repeated hour.
        return moment
    # `wall` is skipped by a jump forward. fold=0 reads it with the offset from
    # before the jump, landing after the jump; fold=1 uses the offset from after,
    # landing before. The jump, which is the answer, lies between: find it to
    # the second, the precision of the time-zone database.
    before = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    after = int(moment.timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        reading = _wall_clock(datetime.fromtimestamp(middle, UTC), zone)
        before, after = (before, middle) if reading >= wall else (middle, after)
    return datetime.fromtimestamp(after, UTC)


def _wall_clock(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)
