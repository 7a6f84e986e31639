"""Parsing `/backups ...` text into a command (bot/core/commands.py). Pure: no Slack, no I/O.

Every way the text can be wrong raises `CommandError`, whose message says
what was wrong and shows the right form. Whatever it echoes of the input is
quoted (bot.core.quoting); the surface showing it escapes it for its markup.
"""

from __future__ import annotations

import re
import shlex

from bot.core.commands import (
    ADMINS_USAGE,
    AUDIT_USAGE,
    CONNECT_USAGE,
    CONNECTION_VERBS,
    CONNECTIONS_USAGE,
    DISCONNECT_USAGE,
    LIST_USAGE,
    MAX_TEXT_LENGTH,
    REPORT_USAGE,
    UNMUTE_USAGE,
    UNWATCH_USAGE,
    USE_USAGE,
    VERBS,
    WATCHING_USAGE,
    AdminsCommand,
    AuditCommand,
    Command,
    CommandError,
    ConnectCommand,
    ConnectionsCommand,
    DestinationsCommand,
    DisconnectCommand,
    HelpCommand,
    ListCommand,
    ReportCommand,
    UnmuteCommand,
    UnwatchCommand,
    UseCommand,
    WatchingCommand,
    only_destination,
    parse_addon,
    parse_statuses,
    valid_destination,
    valid_limit,
)
from bot.core.connections import ENVIRONMENT_NAME, ConnectionNameError, valid_connection_name
from bot.core.listing import DEFAULT_LIMIT, BackupFilter
from bot.core.quoting import quote
from bot.core.reports import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS
from bot.core.users import is_user_id
from bot.core.watch_options import parse_mute, parse_watch

# Slack clients turn straight quotes into curly ones as people type.
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


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
        return parse_watch(args)
    if verb == "unwatch":
        return UnwatchCommand(only_destination("unwatch", args, UNWATCH_USAGE))
    if verb == "watching":
        if args:
            raise CommandError(f"`{WATCHING_USAGE}` takes no arguments.")
        return WatchingCommand()
    if verb == "mute":
        return parse_mute(args)
    if verb == "unmute":
        return UnmuteCommand(only_destination("unmute", args, UNMUTE_USAGE))
    if verb == "audit":
        if args:
            raise CommandError(f"`{AUDIT_USAGE}` takes no arguments.")
        return AuditCommand()
    if verb == "report":
        return _parse_report(args)
    if verb in ("connect", "connections"):
        if args:
            usage = CONNECT_USAGE if verb == "connect" else CONNECTIONS_USAGE
            raise CommandError(
                f"`{usage}` takes no arguments"
                + (
                    "; the form it opens asks for the name and the token."
                    if verb == "connect"
                    else "."
                )
            )
        return ConnectCommand() if verb == "connect" else ConnectionsCommand()
    if verb == "use":
        return UseCommand(_connection_name("use", args, USE_USAGE))
    if verb == "disconnect":
        return DisconnectCommand(_connection_name("disconnect", args, DISCONNECT_USAGE))
    if verb == "admins":
        return _parse_admins(args)
    channel_verbs = [v for v in VERBS if v not in CONNECTION_VERBS]
    raise CommandError(
        f"I don't know the command {quote(verb, 40)}. "
        f"The commands are {', '.join(channel_verbs[:-1])} and {channel_verbs[-1]}, "
        f"and for Northflank connections and admins {', '.join(CONNECTION_VERBS[:-1])} and "
        f"{CONNECTION_VERBS[-1]}; `/backups help` shows how to use each."
    )


def _connection_name(verb: str, args: list[str], usage: str) -> str:
    if len(args) != 1:
        raise CommandError(
            f"`{verb}` takes one connection name, as `/backups connections` lists them. "
            f"Usage: `{usage}`"
        )
    try:
        if args[0].strip().lower() == ENVIRONMENT_NAME:
            return ENVIRONMENT_NAME
        return valid_connection_name(args[0])
    except ConnectionNameError as exc:
        raise CommandError(f"{exc} Usage: `{usage}`") from None


# `<@U123>`, `<@U123|name>` (how Slack sends a mention) or the bare member id.
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>|([UW][A-Z0-9]+)")


def _parse_admins(args: list[str]) -> AdminsCommand:
    if not args:
        return AdminsCommand()
    change = args[0].lower()
    if change not in ("add", "remove") or len(args) != 2:
        raise CommandError(f"Usage: `{ADMINS_USAGE}`, one person at a time.")
    found = _MENTION.fullmatch(args[1])
    user_id = (found.group(1) or found.group(2)) if found else None
    if user_id is None or not is_user_id(user_id):
        raise CommandError(
            f"I need a mention (`@someone`, picked from Slack's list) or a member id "
            f"(`U0123ABCD`, from their profile's ⋮ menu), not {quote(args[1], 40)}. "
            f"Usage: `{ADMINS_USAGE}`"
        )
    return AdminsCommand(change, user_id)


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
            destination = valid_destination(arg, LIST_USAGE)
        elif key == "status":
            statuses |= parse_statuses(value)
        elif key == "addon":
            addon = parse_addon(value)
        elif key == "limit":
            limit = valid_limit(value)
        else:
            raise CommandError(
                f"`list` has no option {quote(key, 40)}. "
                f"It takes status=, addon= and limit=. Usage: `{LIST_USAGE}`"
            )
    return ListCommand(destination, BackupFilter(frozenset(statuses), addon), limit)


def _parse_report(args: list[str]) -> ReportCommand:
    destination: str | None = None
    days = DEFAULT_DAYS
    for arg in args:
        key, has_value, value = arg.partition("=")
        if not has_value:
            if destination is not None:
                raise CommandError(
                    f"`report` takes one destination, and I got two: {quote(destination, 40)} "
                    f"and {quote(arg, 40)}. Usage: `{REPORT_USAGE}`"
                )
            destination = valid_destination(arg, REPORT_USAGE)
        elif key.lower() == "days":
            days = _report_days(value)
        else:
            raise CommandError(
                f"`report` has no option {quote(key or arg, 40)}. "
                f"It takes days=. Usage: `{REPORT_USAGE}`"
            )
    return ReportCommand(destination, days)


def _report_days(value: str) -> int:
    text = value.strip().lower().removesuffix("d")
    if not text.isdigit() or not MIN_DAYS <= int(text) <= MAX_DAYS:
        raise CommandError(
            f"`days=` is a whole number of days from {MIN_DAYS} to {MAX_DAYS}, "
            f"like `days=30`, not {quote(value, 40)}. Usage: `{REPORT_USAGE}`"
        )
    return int(text)
