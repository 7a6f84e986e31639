"""Northflank failures (bot.core.failures), said in plain words for the person who asked. Pure."""

from __future__ import annotations

from collections.abc import Collection

from bot.core import humanize
from bot.core.audit import AuditAction
from bot.core.failures import Failure, FailureKind
from bot.core.reports import HealthReport, ReportSource
from bot.slack.render.mrkdwn import code, escape, mention, truncate


def northflank_failure(failure: Failure, *, destination: str | None = None) -> str:
    target = f"the destination {code(destination)}" if destination else "that"
    if failure.kind is FailureKind.NOT_FOUND:
        return (
            f"I can't find {target} in Northflank. "
            "`/backups destinations` lists the destinations I can see; use an id or a name from it."
        )
    if failure.kind is FailureKind.PERMISSION:
        return (
            f"The bot's Northflank token isn't allowed to read {target}. Its API role needs "
            "*Account > BackupDestinations > General > Read* (and, for organisation tokens, "
            "NORTHFLANK_TEAM_ID must be set)."
        )
    if failure.kind is FailureKind.AUTHENTICATION:
        return (
            "Northflank rejected the bot's API token: it may have been revoked or expired. "
            "Whoever runs backup-bot needs to set a new NORTHFLANK_API_TOKEN."
        )
    if failure.kind is FailureKind.RATE_LIMITED:
        when = _when_retry(failure)
        return (
            f"The bot's Northflank token has used up its hourly request budget. Try again {when}."
        )
    if failure.kind is FailureKind.UNAVAILABLE:
        return (
            "Northflank isn't answering properly right now "
            f"({escape(truncate(failure.message, 120))}). I retried a few times; "
            "please try again in a minute."
        )
    if failure.kind is FailureKind.MALFORMED:
        return (
            "Northflank sent an answer I couldn't read "
            f"({escape(truncate(failure.message, 120))}). Please try again in a minute."
        )
    status = f" (HTTP {failure.status})" if failure.status else ""
    return f"Northflank refused that{status}: {escape(truncate(failure.message, 200))}"


def write_failure(failure: Failure, action: AuditAction) -> str:
    """Why Retain, Start backup or Abort did not work, for the alert's thread
    (thread_notes.write_result_note). Plain words, Northflank's own message only where
    it is the reason (escaped and shortened), never a token.
    """
    thing = "addon" if action is AuditAction.START_BACKUP else "backup"
    if failure.kind is FailureKind.PERMISSION:
        # Retain, abort and start backup all need the same permission.
        return (
            f"Northflank refused: the bot's API token may not change this {thing}. Give its "
            "API role *Project &gt; Addons &gt; General &gt; Update* (and check that the "
            "role is not restricted to other projects)."
        )
    if failure.kind is FailureKind.AUTHENTICATION:
        return (
            "Northflank rejected the bot's API token: it may have been revoked or expired, so "
            "nothing changed. Whoever runs backup-bot needs to set a new NORTHFLANK_API_TOKEN."
        )
    if failure.kind is FailureKind.NOT_FOUND:
        if action is AuditAction.START_BACKUP:
            return "Northflank says that addon no longer exists, so there is nothing to back up."
        verb = "retain" if action is AuditAction.RETAIN else "abort"
        return (
            "Northflank says that backup no longer exists (deleted, or already expired), "
            f"so there is nothing to {verb}."
        )
    if failure.kind is FailureKind.RATE_LIMITED:
        when = _when_retry(failure)
        return (
            "The bot's Northflank token has used up its hourly request budget, so nothing "
            f"changed. Try again {when}."
        )
    if failure.kind is FailureKind.UNAVAILABLE:
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
    if failure.kind is FailureKind.MALFORMED:
        return (
            "Northflank sent an answer I couldn't read, so I can't tell whether it worked. "
            "*Show backups* lists how things stand now."
        )
    if failure.kind is FailureKind.BAD_REQUEST:
        # 400 or 409: most often the backup has moved on (finished, already aborting).
        return f"Northflank refused: {escape(truncate(failure.message, 200))}"
    status = f" (HTTP {failure.status})" if failure.status else ""
    return f"Northflank refused{status}: {escape(truncate(failure.message, 200))}"


def internal_failure(reference: str) -> str:
    return (
        "Something went wrong on my side and I couldn't answer. It has been logged "
        f"with reference {code(reference)}; please pass that on to whoever runs backup-bot."
    )


def ask_admins(admins: Collection[str]) -> str:
    """ " Ask @ana, @bob." naming up to five admins, for a refusal; "" if none can be named."""
    shown = [m for m in map(mention, sorted(admins)) if m is not None][:5]
    return " Ask " + ", ".join(shown) + "." if shown else ""


def _when_retry(failure: Failure) -> str:
    """ "in 5m", when Northflank said how long to wait; "in a few minutes" when not."""
    if failure.retry_after:
        return f"in {humanize.duration(failure.retry_after)}"
    return "in a few minutes"


def report_posted(report: HealthReport) -> str:
    """The private answer once a report is in the channel."""
    where = "from what I have stored" if report.source is ReportSource.STORE else "from Northflank"
    if report.is_empty:
        return f"Posted: no backups of *{escape(report.destination_name)}* in those days."
    return (
        f"Posted the report of the last {report.days} days for "
        f"*{escape(report.destination_name)}* ({report.total:,} backups, {where})."
    )


def choose_connection(names: tuple[str, ...]) -> str:
    """Why a command could not reach Northflank: the channel has no connection to use."""
    if not names:
        return (
            "This channel has no Northflank connection to use. "
            "An admin adds one with `/backups connect`."
        )
    listed = ", ".join(code(name) for name in names[:10])
    return (
        f"This workspace has several Northflank connections ({listed}) and this channel "
        "hasn't chosen one. Choose with `/backups use NAME`; `/backups connections` lists them."
    )
