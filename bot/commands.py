"""Parsing `/backups ...` text into commands. Pure: no Slack, no I/O.

Every way the text can be wrong raises `CommandError`, whose message says
what was wrong and shows the right form; the Slack layer shows it as it is.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from bot.backups import BackupStatus
from bot.listing import DEFAULT_LIMIT, MAX_LIMIT, BackupFilter
from bot.slack.mrkdwn import code

MAX_TEXT_LENGTH = 1000
MAX_ADDON_LENGTH = 100
MAX_DESTINATION_LENGTH = 100

LIST_USAGE = "/backups list [DEST] [status=failed,aborted] [addon=NAME] [limit=N]"
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


Command = HelpCommand | DestinationsCommand | ListCommand


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
    raise CommandError(
        f"I don't know the command {code(verb, 40)}. "
        "Try `/backups help`, `/backups destinations` or `" + LIST_USAGE + "`."
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
                    f"`list` takes one destination, and I got two: {code(destination, 40)} "
                    f"and {code(arg, 40)}. Usage: `{LIST_USAGE}`"
                )
            destination = _destination(arg)
        elif key == "status":
            statuses |= parse_statuses(value)
        elif key == "addon":
            addon = parse_addon(value)
        elif key == "limit":
            limit = _limit(value)
        else:
            raise CommandError(
                f"`list` has no option {code(key, 40)}. "
                f"It takes status=, addon= and limit=. Usage: `{LIST_USAGE}`"
            )
    return ListCommand(destination, BackupFilter(frozenset(statuses), addon), limit)


def _destination(value: str) -> str:
    if not value or len(value) > MAX_DESTINATION_LENGTH or not value.isprintable():
        raise CommandError(
            f"That doesn't look like a destination id or name (at most "
            f"{MAX_DESTINATION_LENGTH} printable characters). "
            "`/backups destinations` lists the ones I can see."
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
            f"I don't know the status {code(unknown[0], 40)}. "
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
