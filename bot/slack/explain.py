"""Northflank failures, said in plain words for the person who asked. Pure."""

from __future__ import annotations

from collections.abc import Collection

from bot.core import humanize
from bot.core.audit import AuditAction
from bot.northflank.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    NorthflankError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)
from bot.slack.mrkdwn import code, escape, mention, truncate


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


def write_failure(exc: NorthflankError, action: AuditAction) -> str:
    """Why Retain, Start backup or Abort did not work, for the alert's thread
    (notes.write_result_note). Plain words, Northflank's own message only where
    it is the reason (escaped and shortened), never a token.
    """
    thing = "addon" if action is AuditAction.START_BACKUP else "backup"
    if isinstance(exc, PermissionDeniedError):
        # Retain, abort and start backup all need the same permission.
        return (
            f"Northflank refused: the bot's API token may not change this {thing}. Give its "
            "API role *Project &gt; Addons &gt; General &gt; Update* (and check that the "
            "role is not restricted to other projects)."
        )
    if isinstance(exc, AuthenticationError):
        return (
            "Northflank rejected the bot's API token: it may have been revoked or expired, so "
            "nothing changed. Whoever runs backup-bot needs to set a new NORTHFLANK_API_TOKEN."
        )
    if isinstance(exc, NotFoundError):
        if action is AuditAction.START_BACKUP:
            return "Northflank says that addon no longer exists, so there is nothing to back up."
        verb = "retain" if action is AuditAction.RETAIN else "abort"
        return (
            "Northflank says that backup no longer exists (deleted, or already expired), "
            f"so there is nothing to {verb}."
        )
    if isinstance(exc, RateLimitedError):
        when = f"in {humanize.duration(exc.retry_after)}" if exc.retry_after else "in a few minutes"
        return (
            "The bot's Northflank token has used up its hourly request budget, so nothing "
            f"changed. Try again {when}."
        )
    if isinstance(exc, UnavailableError):
        checked = (
            " If you try again, check *Show backups* first: a backup started after all "
            "is listed there."
            if action is AuditAction.START_BACKUP
            else ""
        )
        return (
            "Northflank did not answer; as far as I know nothing changed. "
            f"Try again in a minute.{checked}"
        )
    if isinstance(exc, MalformedResponseError):
        return (
            "Northflank sent an answer I couldn't read, so I can't tell whether it worked. "
            "*Show backups* lists how things stand now."
        )
    if isinstance(exc, BadRequestError):
        # 400 or 409: most often the backup has moved on (finished, already aborting).
        return f"Northflank refused: {escape(truncate(exc.message, 200))}"
    status = f" (HTTP {exc.status})" if exc.status else ""
    return f"Northflank refused{status}: {escape(truncate(exc.message, 200))}"


def internal_failure(reference: str) -> str:
    return (
        "Something went wrong on my side and I couldn't answer. It has been logged "
        f"with reference {code(reference)}; please pass that on to whoever runs backup-bot."
    )


def ask_admins(admins: Collection[str]) -> str:
    """ " Ask @ana, @bob." naming up to five admins, for a refusal; "" if none can be named."""
    shown = [m for m in map(mention, sorted(admins)) if m is not None][:5]
    return " Ask " + ", ".join(shown) + "." if shown else ""
