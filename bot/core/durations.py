"""Durations as people type them in Slack: `90m`, `6h`, `3d`, `1w`, `1d12h`. Pure.

Minutes are the smallest unit: the bot polls every few minutes, so a
setting finer than that would promise more than it can keep. Months and
years are refused because their length varies; days say the same thing
exactly.

Error messages are shown to the user as they are. They only ever repeat
digits and ASCII letters taken from the input, so they are safe in Slack
mrkdwn without escaping; callers that want to echo the whole input must
escape it themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

MAX_TEXT_LENGTH = 20
LONGEST = timedelta(days=365)

_MINUTES_PER_UNIT = {
    "m": 1,
    "min": 1,
    "mins": 1,
    "minute": 1,
    "minutes": 1,
    "h": 60,
    "hr": 60,
    "hrs": 60,
    "hour": 60,
    "hours": 60,
    "d": 24 * 60,
    "day": 24 * 60,
    "days": 24 * 60,
    "w": 7 * 24 * 60,
    "wk": 7 * 24 * 60,
    "week": 7 * 24 * 60,
    "weeks": 7 * 24 * 60,
}
_SECONDS = frozenset({"s", "sec", "secs", "second", "seconds"})
_MONTHS_OR_YEARS = frozenset({"mo", "mon", "month", "months", "y", "yr", "year", "years"})
# One or more number+unit parts; a part may lack its unit so we can say so.
_SHAPE = re.compile(r"(?:[0-9]+[a-z]*)+", re.ASCII)
_PART = re.compile(r"([0-9]+)([a-z]*)", re.ASCII)
_EXAMPLES = "`90m`, `6h`, `3d` or `1h30m`"


class DurationError(ValueError):
    """The text is not a duration; the message says why, in words a user understands."""


class DurationTooLongError(DurationError):
    """A well-formed duration beyond LONGEST; callers with a narrower range say theirs."""


@dataclass(frozen=True, slots=True)
class DurationRange:
    """The durations a setting accepts, both ends included."""

    shortest: timedelta
    longest: timedelta

    def __contains__(self, delta: object) -> bool:
        return isinstance(delta, timedelta) and self.shortest <= delta <= self.longest

    def describe(self) -> str:
        """ "from 1h to 90d", for error messages."""
        return f"from {format_duration(self.shortest)} to {format_duration(self.longest)}"


# How long before a backup expires to warn about it. Under an hour leaves no
# time to act; beyond 90 days a warning is noise rather than news.
EXPIRY_RANGE = DurationRange(timedelta(hours=1), timedelta(days=90))
# How long a backup may run before it is called stuck. Polls are minutes apart
# and a healthy backup takes minutes, so under 10 minutes would cry wolf.
STUCK_RANGE = DurationRange(timedelta(minutes=10), timedelta(days=30))
# A quiet period. Anything longer than 30 days is really `unwatch`.
MUTE_RANGE = DurationRange(timedelta(minutes=1), timedelta(days=30))
# How often an unacknowledged alert is reminded in its thread. Under an hour
# is nagging, and polls are minutes apart so finer would not be kept anyway;
# beyond 30 days a reminder is forgotten rather than felt (use `remind=off`).
REMIND_RANGE = DurationRange(timedelta(hours=1), timedelta(days=30))


def parse_duration(text: str) -> timedelta:
    """`90m`, `6h`, `3d`, `1w`, `1h30m`, `1d12h` (any case; spaces ignored) as a timedelta.

    Units: m (minutes), h (hours), d (days), w (weeks), and their spelled-out
    forms (`min`, `hours`, `days`, ...). Each unit at most once. The result is
    more than zero and at most 365 days; narrower bounds are the caller's.
    """
    stripped = text.strip()
    if not stripped:
        raise DurationError(f"A duration is needed, like {_EXAMPLES}.")
    if len(stripped) > MAX_TEXT_LENGTH:
        raise DurationError(
            f"A duration is at most {MAX_TEXT_LENGTH} characters, like {_EXAMPLES}."
        )
    compact = "".join(stripped.split()).lower()
    if compact.startswith("-"):
        raise DurationError(f"A duration can't be negative. Use one like {_EXAMPLES}.")
    if re.fullmatch(r"[0-9a-z]*[.,][0-9a-z.,]*", compact, re.ASCII):
        raise DurationError("Use whole numbers, like `90m` rather than `1.5h`.")
    if not _SHAPE.fullmatch(compact):
        raise DurationError(f"I can't read that as a duration. Write it like {_EXAMPLES}.")
    minutes = 0
    seen: set[int] = set()
    for number, unit in _PART.findall(compact):
        per_unit = _minutes_per_unit(number, unit)
        if per_unit in seen:
            raise DurationError("Give each unit once, like `1d12h` or `1h30m`.")
        seen.add(per_unit)
        minutes += int(number) * per_unit
    if minutes == 0:
        raise DurationError("A duration must be longer than zero, like `30m`.")
    if minutes > LONGEST // timedelta(minutes=1):
        raise DurationTooLongError("A duration can be at most 365 days (`365d`).")
    return timedelta(minutes=minutes)


def _minutes_per_unit(number: str, unit: str) -> int:
    if not unit:
        raise DurationError(
            f"`{number}` has no unit; add a unit: `{number}m`, `{number}h` or `{number}d`."
        )
    if unit in _SECONDS:
        raise DurationError("The smallest unit is minutes, like `1m`; seconds are too fine.")
    if unit in _MONTHS_OR_YEARS:
        raise DurationError("Months and years vary in length; use days, like `30d`.")
    per_unit = _MINUTES_PER_UNIT.get(unit)
    if per_unit is None:
        raise DurationError(
            f"I don't know the unit `{unit[:10]}`. "
            "Use m (minutes), h (hours), d (days) or w (weeks), like `1h30m`."
        )
    return per_unit


def format_duration(delta: timedelta) -> str:
    """The compact form `parse_duration` reads back: 72h -> "3d", 90 minutes -> "1h30m".

    Days are the largest unit shown, because "90d" reads better than "12w6d".
    Seconds appear only for a delta that is not whole minutes (parse_duration
    never makes one); microseconds are dropped.
    """
    sign = "-" if delta < timedelta(0) else ""
    days, rest = divmod(abs(delta) // timedelta(seconds=1), 24 * 3600)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    amounts = ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s"))
    shown = "".join(f"{amount}{unit}" for amount, unit in amounts if amount)
    return sign + shown if shown else "0m"
