"""Parsing `/backups ...` text into commands. Pure: no Slack, no I/O.

Every way the text can be wrong raises `CommandError`, whose message says
what was wrong and shows the right form. Whatever it echoes of the input is
quoted (bot.core.quoting); the surface showing it escapes it for its markup.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import timedelta

from bot.core.backups import BackupStatus
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
from bot.core.listing import DEFAULT_LIMIT, MAX_LIMIT, BackupFilter
from bot.core.quiet_hours import QuietHours, QuietHoursError, parse_quiet_hours
from bot.core.quoting import quote
from bot.core.watches import WATCHABLE_EVENTS, Event, WatchSettings

MAX_TEXT_LENGTH = 1000
MAX_ADDON_LENGTH = 100
MAX_DESTINATION_LENGTH = 100

LIST_USAGE = "/backups list [DEST] [status=failed,aborted] [addon=NAME] [limit=N]"
WATCH_USAGE = (
    "/backups watch DEST [events=failed,aborted,expiring,stuck,missed] [expiry=72h] [stuck=6h] "
    "[remind=24h|off] [quiet=22:00-07:00 tz=Europe/Berlin]"
)
UNWATCH_USAGE = "/backups unwatch DEST"
WATCHING_USAGE = "/backups watching"
MUTE_USAGE = "/backups mute DEST DURATION"
UNMUTE_USAGE = "/backups unmute DEST"
AUDIT_USAGE = "/backups audit"
# The commands that change a channel's configuration; BOT_ADMINS gates them.
WATCH_VERBS = frozenset({"watch", "unwatch", "mute", "unmute"})
# In the order people meet them; `audit` last: it reports what watch, unwatch,
# mute, unmute and the alert buttons changed.
VERBS = (
    "help",
    "destinations",
    "list",
    "watch",
    "unwatch",
    "watching",
    "mute",
    "unmute",
    "audit",
)

_EVENT_WORDS = tuple(event.value for event in WATCHABLE_EVENTS)
_ALL_EVENTS = "all"
_WATCH_OPTIONS = ("events", "expiry", "stuck", "remind", "quiet", "tz")
# `tz=` is part of `quiet=`, not a setting of its own: re-watching keeps or
# replaces the quiet hours as a whole.
_WATCH_SETTINGS = frozenset({"events", "expiry", "stuck", "remind", "quiet"})
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
_STATUS_WORDS = tuple(s.value for s in BackupStatus if s is not BackupStatus.UNKNOWN)
# Slack clients turn straight quotes into curly ones as people type.
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


class CommandError(ValueError):
    """The text could not be understood; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class HelpCommand:
    pass


@dataclass(frozen=True, slots=True)
class DestinationsCommand:
    pass


@dataclass(frozen=True, slots=True)
class ListCommand:
    destination: str | None
    backup_filter: BackupFilter
    limit: int = DEFAULT_LIMIT


@dataclass(frozen=True, slots=True)
class WatchCommand:
    destination: str
    settings: WatchSettings
    # The options typed, as opposed to defaulted: running `watch` again with
    # only `expiry=` changes the expiry and keeps the channel's other choices.
    given: frozenset[str] = frozenset()

    def applied_to(self, current: WatchSettings) -> WatchSettings:
        """The settings after re-watching: typed options win, the rest stay."""
        return WatchSettings(
            events=self.settings.events if "events" in self.given else current.events,
            expiry=self.settings.expiry if "expiry" in self.given else current.expiry,
            stuck=self.settings.stuck if "stuck" in self.given else current.stuck,
            remind=self.settings.remind if "remind" in self.given else current.remind,
            quiet=self.settings.quiet if "quiet" in self.given else current.quiet,
        )


@dataclass(frozen=True, slots=True)
class UnwatchCommand:
    destination: str


@dataclass(frozen=True, slots=True)
class WatchingCommand:
    pass


@dataclass(frozen=True, slots=True)
class AuditCommand:
    """Who changed what this channel watches, and who acted on Northflank, newest first."""


@dataclass(frozen=True, slots=True)
class MuteCommand:
    destination: str
    duration: timedelta


@dataclass(frozen=True, slots=True)
class UnmuteCommand:
    destination: str


Command = (
    HelpCommand
    | DestinationsCommand
    | ListCommand
    | WatchCommand
    | UnwatchCommand
    | WatchingCommand
    | MuteCommand
    | UnmuteCommand
    | AuditCommand
)


def parse(text: str) -> Command:
    if len(text) > MAX_TEXT_LENGTH:
        raise CommandError(
            f"That command is {len(text):,} characters long; "
            f"I read at most {MAX_TEXT_LENGTH:,}. Try `/backups help`."
        )
    words = _split(text)
    if not words or words[0].lower() in {"help", "-h", "--help", "?"}:
        return HelpCommand()
    verb, args = words[0].lower(), words[1:]
    if verb == "destinations":
        if args:
            raise CommandError("`/backups destinations` takes no arguments.")
        return DestinationsCommand()
    if verb == "list":
        return _parse_list(args)
    if verb == "watch":
        return _parse_watch(args)
    if verb == "unwatch":
        return UnwatchCommand(_only_destination("unwatch", args, UNWATCH_USAGE))
    if verb == "watching":
        if args:
            raise CommandError(f"`{WATCHING_USAGE}` takes no arguments.")
        return WatchingCommand()
    if verb == "mute":
        return _parse_mute(args)
    if verb == "unmute":
        return UnmuteCommand(_only_destination("unmute", args, UNMUTE_USAGE))
    if verb == "audit":
        if args:
            raise CommandError(f"`{AUDIT_USAGE}` takes no arguments.")
        return AuditCommand()
    raise CommandError(
        f"I don't know the command {quote(verb, 40)}. "
        f"The commands are {', '.join(VERBS[:-1])} and {VERBS[-1]}; "
        "`/backups help` shows how to use each."
    )


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text.translate(_QUOTES))
    except ValueError:
        raise CommandError(
            "A quote in that command is not closed. Put names with spaces in "
            'straight quotes, like `/backups list "nightly backups"`.'
        ) from None


def _parse_list(args: list[str]) -> ListCommand:
    destination: str | None = None
    statuses: set[str] = set()
    addon: str | None = None
    limit = DEFAULT_LIMIT
    for arg in args:
        key, has_value, value = arg.partition("=")
        key = key.lower()
        if not has_value:
            if destination is not None:
                raise CommandError(
                    f"`list` takes one destination, and I got two: {quote(destination, 40)} "
                    f"and {quote(arg, 40)}. Usage: `{LIST_USAGE}`"
                )
            destination = _destination(arg, LIST_USAGE)
        elif key == "status":
            statuses |= parse_statuses(value)
        elif key == "addon":
            addon = parse_addon(value)
        elif key == "limit":
            limit = _limit(value)
        else:
            raise CommandError(
                f"`list` has no option {quote(key, 40)}. "
                f"It takes status=, addon= and limit=. Usage: `{LIST_USAGE}`"
            )
    return ListCommand(destination, BackupFilter(frozenset(statuses), addon), limit)


def _parse_watch(args: list[str]) -> WatchCommand:
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
            destination = _destination(arg, WATCH_USAGE)
        elif key not in _WATCH_OPTIONS:
            raise CommandError(
                f"`watch` has no option {quote(key or arg, 40)}. "
                "It takes events=, expiry=, stuck=, remind= and quiet= (with tz=). "
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
            _bounded_duration("expiry", given["expiry"], EXPIRY_RANGE, WATCH_USAGE)
            if "expiry" in given
            else defaults.expiry
        ),
        stuck=(
            _bounded_duration("stuck", given["stuck"], STUCK_RANGE, WATCH_USAGE)
            if "stuck" in given
            else defaults.stuck
        ),
        remind=parse_remind(given["remind"]) if "remind" in given else defaults.remind,
        quiet=(
            _quiet_hours(given["quiet"], given.get("tz")) if "quiet" in given else defaults.quiet
        ),
    )
    return WatchCommand(destination, settings, given=frozenset(given) & _WATCH_SETTINGS)


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
    return _bounded_duration(
        "remind", value, REMIND_RANGE, WATCH_USAGE, alternative="`off` (never)"
    )


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


def _parse_mute(args: list[str]) -> MuteCommand:
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
        _destination(destination, MUTE_USAGE),
        _bounded_duration("mute", duration, MUTE_RANGE, MUTE_USAGE, option=False),
    )


def _only_destination(verb: str, args: list[str], usage: str) -> str:
    if not args:
        raise CommandError(
            f"`{verb}` needs a destination: its id or name, as `/backups watching` "
            f"shows it. Usage: `{usage}`"
        )
    if len(args) > 1:
        raise CommandError(
            f"`{verb}` takes just one destination; put names with spaces in quotes, "
            f'like `/backups {verb} "nightly backups"`. Usage: `{usage}`'
        )
    return _destination(args[0], usage)


def _bounded_duration(
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


def _destination(value: str, usage: str) -> str:
    if not value or len(value) > MAX_DESTINATION_LENGTH or not value.isprintable():
        raise CommandError(
            f"That doesn't look like a destination id or name (at most "
            f"{MAX_DESTINATION_LENGTH} printable characters). "
            f"`/backups destinations` lists the ones I can see. Usage: `{usage}`"
        )
    return value


def parse_statuses(value: str) -> set[str]:
    words = {word.strip().lower() for word in value.split(",") if word.strip()}
    if not words:
        raise CommandError(
            f"`status=` needs one or more of: {', '.join(_STATUS_WORDS)}, "
            "for example `status=failed,aborted`."
        )
    unknown = sorted(words.difference(_STATUS_WORDS))
    if unknown:
        raise CommandError(
            f"I don't know the status {quote(unknown[0], 40)}. "
            f"Use one or more of: {', '.join(_STATUS_WORDS)}."
        )
    return words


def parse_addon(value: str) -> str:
    if not value or len(value) > MAX_ADDON_LENGTH or not value.isprintable():
        raise CommandError(
            f"`addon=` needs an addon name or id of at most {MAX_ADDON_LENGTH} characters, "
            "for example `addon=orders-db`."
        )
    return value


def _limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise CommandError(f"`limit=` takes a whole number from 1 to {MAX_LIMIT}, like `limit=20`.")
    return int(value)
