"""What people can ask for with `/backups ...`: the commands, their usage, and the values
every command checks the same way (a destination, statuses, an addon, a limit). Pure.

bot/core/command_parser.py reads the text into one of these, with
bot/core/watch_options.py for the options of `watch` and `mute`. A mistake
raises `CommandError`, whose message says what was wrong and shows the
right form; what it echoes of the input is quoted (bot.core.quoting) and
escaped by the surface that shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.core.backups import BackupStatus
from bot.core.listing import DEFAULT_LIMIT, MAX_LIMIT, BackupFilter
from bot.core.quoting import quote
from bot.core.watches import WatchSettings

MAX_TEXT_LENGTH = 1000
MAX_ADDON_LENGTH = 100
MAX_DESTINATION_LENGTH = 100

LIST_USAGE = "/backups list [DEST] [status=failed,aborted] [addon=NAME] [limit=N]"
WATCH_USAGE = (
    "/backups watch DEST [events=failed,aborted,expiring,stuck,missed,anomaly] [expiry=72h] "
    "[stuck=6h] [remind=24h|off] [quiet=22:00-07:00 tz=Europe/Berlin] [report=weekly|off]"
)
REPORT_USAGE = "/backups report [DEST] [days=30]"
UNWATCH_USAGE = "/backups unwatch DEST"
WATCHING_USAGE = "/backups watching"
MUTE_USAGE = "/backups mute DEST DURATION"
UNMUTE_USAGE = "/backups unmute DEST"
AUDIT_USAGE = "/backups audit"
CONNECT_USAGE = "/backups connect"
CONNECTIONS_USAGE = "/backups connections"
USE_USAGE = "/backups use NAME"
DISCONNECT_USAGE = "/backups disconnect NAME"
ADMINS_USAGE = "/backups admins [add|remove @someone]"
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
    "report",
    "connect",
    "connections",
    "use",
    "disconnect",
    "admins",
)

CONNECTION_VERBS = ("connect", "connections", "use", "disconnect", "admins")

_STATUS_WORDS = tuple(s.value for s in BackupStatus if s is not BackupStatus.UNKNOWN)


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
            weekly_report=(
                self.settings.weekly_report if "report" in self.given else current.weekly_report
            ),
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
class ReportCommand:
    """A summary and a chart of a destination's backups over the last `days`, in the channel."""

    destination: str | None
    days: int


@dataclass(frozen=True, slots=True)
class MuteCommand:
    destination: str
    duration: timedelta


@dataclass(frozen=True, slots=True)
class UnmuteCommand:
    destination: str


@dataclass(frozen=True, slots=True)
class ConnectCommand:
    """Opens the modal that asks for a Northflank token (it needs the command's trigger)."""


@dataclass(frozen=True, slots=True)
class ConnectionsCommand:
    pass


@dataclass(frozen=True, slots=True)
class UseCommand:
    name: str


@dataclass(frozen=True, slots=True)
class DisconnectCommand:
    name: str


@dataclass(frozen=True, slots=True)
class AdminsCommand:
    """`admins` lists them; `admins add|remove USER` changes them (a distributable app)."""

    change: str | None = None  # "add" or "remove"
    user_id: str | None = None


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
    | ReportCommand
    | ConnectCommand
    | ConnectionsCommand
    | UseCommand
    | DisconnectCommand
    | AdminsCommand
)


def only_destination(verb: str, args: list[str], usage: str) -> str:
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
    return valid_destination(args[0], usage)


def valid_destination(value: str, usage: str) -> str:
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


def valid_limit(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise CommandError(f"`limit=` takes a whole number from 1 to {MAX_LIMIT}, like `limit=20`.")
    return int(value)
