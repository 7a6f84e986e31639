"""Northflank failures, said in plain words for the person who asked. Pure."""

from __future__ import annotations

from bot import humanize
from bot.northflank.errors import (
    AuthenticationError,
    MalformedResponseError,
    NorthflankError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)
from bot.slack.mrkdwn import code, escape, truncate


def northflank_failure(exc: NorthflankError, *, destination: str | None = None) -> str:
    target = f"the destination {code(destination)}" if destination else "that"
    if isinstance(exc, NotFoundError):
        return (
            f"I can't find {target} in Northflank. "
            "`/backups destinations` lists the destinations I can see; use an id or a name from it."
        )
    if isinstance(exc, PermissionDeniedError):
        return (
            f"The bot's Northflank token isn't allowed to read {target}. Its API role needs "
            "*Account > BackupDestinations > General > Read* (and, for organisation tokens, "
            "NORTHFLANK_TEAM_ID must be set)."
        )
    if isinstance(exc, AuthenticationError):
        return (
            "Northflank rejected the bot's API token: it may have been revoked or expired. "
            "Whoever runs backup-bot needs to set a new NORTHFLANK_API_TOKEN."
        )
    if isinstance(exc, RateLimitedError):
        when = f"in {humanize.duration(exc.retry_after)}" if exc.retry_after else "in a few minutes"
        return (
            f"The bot's Northflank token has used up its hourly request budget. Try again {when}."
        )
    if isinstance(exc, UnavailableError):
        return (
            "Northflank isn't answering properly right now "
            f"({escape(truncate(exc.message, 120))}). I retried a few times; "
            "please try again in a minute."
        )
    if isinstance(exc, MalformedResponseError):
        return (
            "Northflank sent an answer I couldn't read "
            f"({escape(truncate(exc.message, 120))}). Please try again in a minute."
        )
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"Northflank refused that{status}: {escape(truncate(exc.message, 200))}"


def internal_failure(reference: str) -> str:
    return (
        "Something went wrong on my side and I couldn't answer. It has been logged "
        f"with reference {code(reference)}; please pass that on to whoever runs backup-bot."
    )
