"""Parsing the options of `watch` and `mute`: events, durations, reminders, quiet hours. Pure.

`/backups watch DEST events=failed expiry=3d remind=off quiet=22:00-07:00
tz=Europe/Berlin`: each option is checked against its range, and every
mistake raises a CommandError that names the option, says what would do and
shows the usage.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.core.commands import (
    MUTE_USAGE,
    WATCH_USAGE,
    CommandError,
    MuteCommand,
    WatchCommand,
    valid_destination,
)
from bot.core.durations import (
    EXPIRY_RANGE,
    MUTE_RANGE,
    REMIND_RANGE,
    STUCK_RANGE,
    DurationError,
    DurationRange,
    DurationTooLongError,
    parse_duration,
)
from bot.core.quiet_hours import QuietHours, QuietHoursError, parse_quiet_hours
from bot.core.quoting import quote
from bot.core.watches import WATCHABLE_EVENTS, Event, WatchSettings

_EVENT_WORDS = tuple(event.value for event in WATCHABLE_EVENTS)
_ALL_EVENTS = "all"
_WATCH_OPTIONS = ("events", "expiry", "stuck", "remind", "quiet", "tz", "report")
# `tz=` is part of `quiet=`, not a setting of its own: re-watching keeps or
# replaces the quiet hours as a whole.
_WATCH_SETTINGS = frozenset({"events", "expiry", "stuck", "remind", "quiet", "report"})
# `remind=` words for "never remind", any case.
REMIND_OFF_WORDS = ("off", "never", "none")
# `remind=0`, `remind=0h`: meant as "never", but zero is not a duration.
_ZERO = re.compile(r"0+[a-z]*", re.ASCII)
# `quiet=22:00 - 07:00` split at its spaces: a window ending in a dash (a hyphen,
# or the en or em dash phones and Macs make of one), or the word after it
# starting with one.
_DASHES = ("-", "–", "—")
_WINDOW_END = re.compile(r"[-–—][0-9:.]*")
_QUIET_EXAMPLE = "`quiet=22:00-07:00 tz=Europe/Berlin`"


def parse_watch(args: list[str]) -> WatchCommand:
    destination: str | None = None
    given: dict[str, str] = {}
    previous = ""
    for arg in args:
        key, has_value, value = arg.partition("=")
        key = key.lower()
        if not has_value:
            if "=" in previous and previous.endswith(","):
                raise CommandError(
                    "Write the events without spaces, like `events=failed,aborted`. "
                    f"Usage: `{WATCH_USAGE}`"
                )
            if previous.lower().startswith("quiet=") and (
                previous.endswith(_DASHES) or _WINDOW_END.fullmatch(arg)
            ):
                raise CommandError(
                    f"Write quiet hours without spaces, like {_QUIET_EXAMPLE}. "
                    f"Usage: `{WATCH_USAGE}`"
                )
            if destination is not None:
                raise CommandError(
                    f"`watch` takes one destination, and I got two: {quote(destination, 40)} "
                    f"and {quote(arg, 40)}. Put names with spaces in quotes. "
                    f"Usage: `{WATCH_USAGE}`"
                )
            destination = valid_destination(arg, WATCH_USAGE)
        elif key not in _WATCH_OPTIONS:
            raise CommandError(
                f"`watch` has no option {quote(key or arg, 40)}. "
                "It takes events=, expiry=, stuck=, remind=, quiet= (with tz=) and report=. "
                f"Usage: `{WATCH_USAGE}`"
            )
        elif key in given:
            raise CommandError(f"`{key}=` is there twice; give it once. Usage: `{WATCH_USAGE}`")
        else:
            given[key] = value
        previous = arg
    if destination is None:
        raise CommandError(
            "`watch` needs a destination: its id or name, as `/backups destinations` "
            f"shows it. Usage: `{WATCH_USAGE}`"
        )
    if "tz" in given and "quiet" not in given:
        raise CommandError(
            f"`tz=` sets the time zone of `quiet=`; give both, like {_QUIET_EXAMPLE}. "
            f"Usage: `{WATCH_USAGE}`"
        )
    defaults = WatchSettings()
    settings = WatchSettings(
        events=parse_events(given["events"]) if "events" in given else defaults.events,
        expiry=(
            bounded_duration("expiry", given["expiry"], EXPIRY_RANGE, WATCH_USAGE)
            if "expiry" in given
            else defaults.expiry
        ),
        stuck=(
            bounded_duration("stuck", given["stuck"], STUCK_RANGE, WATCH_USAGE)
            if "stuck" in given
            else defaults.stuck
        ),
        remind=parse_remind(given["remind"]) if "remind" in given else defaults.remind,
        quiet=(
            _quiet_hours(given["quiet"], given.get("tz")) if "quiet" in given else defaults.quiet
        ),
        weekly_report=(
            parse_report(given["report"]) if "report" in given else defaults.weekly_report
        ),
    )
    return WatchCommand(destination, settings, given=frozenset(given) & _WATCH_SETTINGS)


def parse_report(value: str) -> bool:
    """`report=weekly` (the Monday report, the default) or `report=off`."""
    word = value.strip().lower()
    if word == "weekly":
        return True
    if word in REMIND_OFF_WORDS:
        return False
    raise CommandError(
        f"`report=` takes `weekly` (a report of the last 7 days every Monday at 09:00) "
        f"or `off`, not {quote(value, 40)}. Usage: `{WATCH_USAGE}`"
    )


def parse_remind(value: str) -> timedelta | None:
    """`remind=`: how often an unacknowledged alert is reminded (REMIND_RANGE); None: never."""
    stripped = value.strip().lower()
    if stripped in REMIND_OFF_WORDS:
        return None
    if _ZERO.fullmatch(stripped):
        raise CommandError(
            f"To never remind, write `remind=off`; otherwise `remind=` takes "
            f"{REMIND_RANGE.describe()}. Usage: `{WATCH_USAGE}`"
        )
    return bounded_duration("remind", value, REMIND_RANGE, WATCH_USAGE, alternative="`off` (never)")


def _quiet_hours(window: str, timezone: str | None) -> QuietHours | None:
    if timezone is not None and not timezone.strip():
        raise CommandError(
            f"`tz=` needs a time zone, like {_QUIET_EXAMPLE}. Usage: `{WATCH_USAGE}`"
        )
    try:
        return parse_quiet_hours(window, timezone)
    except QuietHoursError as exc:
        raise CommandError(f"{exc} Usage: `{WATCH_USAGE}`") from None


def parse_events(value: str) -> frozenset[Event]:
    """`events=`: a comma list of WATCHABLE_EVENTS values, or `all`."""
    words = {word.strip().lower() for word in value.split(",") if word.strip()}
    choices = f"{', '.join(_EVENT_WORDS)}, or {_ALL_EVENTS}"
    if not words:
        raise CommandError(
            f"`events=` needs one or more of: {choices}, for example `events=failed,aborted`. "
            f"Usage: `{WATCH_USAGE}`"
        )
    unknown = sorted(words.difference(_EVENT_WORDS, {_ALL_EVENTS}))
    if unknown:
        automatic = {e.value for e in Event}.difference(_EVENT_WORDS)
        why = (
            " It can't be chosen: recoveries and Northflank problems are posted on their own."
            if unknown[0] in automatic
            else ""
        )
        raise CommandError(
            f"I don't know the event {quote(unknown[0], 40)}.{why} "
            f"Use one or more of: {choices}. Usage: `{WATCH_USAGE}`"
        )
    if _ALL_EVENTS in words:
        return frozenset(WATCHABLE_EVENTS)
    return frozenset(Event(word) for word in words)


def parse_mute(args: list[str]) -> MuteCommand:
    example = "for example `/backups mute orders-backups 8h`"
    if not args:
        raise CommandError(
            f"`mute` needs a destination and how long, {example}. Usage: `{MUTE_USAGE}`"
        )
    if len(args) == 1:
        if _looks_like_duration(args[0]):
            raise CommandError(
                f"Which destination should be muted for {quote(args[0], 20)}? "
                f"Put it first, {example}. Usage: `{MUTE_USAGE}`"
            )
        raise CommandError(
            f"How long should {quote(args[0], 40)} be muted? Add a duration "
            f"({MUTE_RANGE.describe()}), {example}. Usage: `{MUTE_USAGE}`"
        )
    if len(args) == 3 and args[1].lower() == "for":
        raise CommandError(f"Leave out `for`, {example}. Usage: `{MUTE_USAGE}`")
    if len(args) > 2:
        raise CommandError(
            "`mute` takes a destination and a duration, nothing more; put names with spaces "
            f'in quotes, like `/backups mute "nightly backups" 8h`. Usage: `{MUTE_USAGE}`'
        )
    destination, duration = args
    if _looks_like_duration(destination) and not _looks_like_duration(duration):
        raise CommandError(
            f"Put the destination first and the duration second, {example}. Usage: `{MUTE_USAGE}`"
        )
    return MuteCommand(
        valid_destination(destination, MUTE_USAGE),
        bounded_duration("mute", duration, MUTE_RANGE, MUTE_USAGE, option=False),
    )


def bounded_duration(
    name: str,
    value: str,
    bounds: DurationRange,
    usage: str,
    *,
    option: bool = True,
    alternative: str | None = None,
) -> timedelta:
    """`value` as a duration within `bounds`; `alternative` is named too if the option has one."""
    label = f"`{name}=`" if option else f"`{name}`"
    accepted = bounds.describe() + (f" or {alternative}" if alternative else "")
    # Every refusal names the range, so `99999999w` or `0m` says what would do.
    out_of_range = f"{label} takes {accepted}, and {quote(value, 20)} is"
    try:
        duration = parse_duration(value)
    except DurationTooLongError:
        raise CommandError(f"{out_of_range} too long. Usage: `{usage}`") from None
    except DurationError as exc:
        raise CommandError(f"{label}: {exc} It takes {accepted}. Usage: `{usage}`") from None
    if duration not in bounds:
        too = "too short" if duration < bounds.shortest else "too long"
        raise CommandError(f"{out_of_range} {too}. Usage: `{usage}`")
    return duration


def _looks_like_duration(value: str) -> bool:
    try:
        parse_duration(value)
    except DurationTooLongError:
        return True  # shaped like one, only too long: say that, not "which destination?"
    except DurationError:
        return False
    return True
