"""The private answer to a button pressed on an alert (bot/services/alert_outcomes.py). Pure.

None where there is nothing to add: Acknowledge edits the alert itself, and
a write's result is posted in the alert's thread for everyone.
"""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from bot.core.listing import DEFAULT_LIMIT
from bot.services.alert_outcomes import (
    Acknowledged,
    ActionOutcome,
    AlreadyAcknowledged,
    AlreadyResolved,
    AlreadySnoozed,
    BackupsShown,
    ListingFailed,
    Snoozed,
    StaleButton,
    WriteAlreadyDone,
    WriteFinished,
    WriteNotApplicable,
    WriteRefused,
    WriteUnderWay,
)
from bot.slack.render import explain
from bot.slack.render.kit import Reply, message
from bot.slack.render.listing import listing
from bot.slack.render.mrkdwn import date, escape, mention

STALE_BUTTON = (
    "I can't find that alert in this channel any more, so nothing was done. "
    "`/backups watching` shows what this channel watches."
)


def action_reply(outcome: ActionOutcome, now: datetime) -> Reply | None:
    match outcome:
        case Acknowledged() | WriteFinished():
            return None
        case StaleButton():
            return message(STALE_BUTTON)
        case AlreadyResolved(resolved_at):
            return message(
                f"That alert was resolved {date(resolved_at)}; there is nothing to acknowledge."
            )
        case AlreadyAcknowledged(by, at):
            return message(f"{_who(by)} already acknowledged it {date(at)}. Nothing changed.")
        case Snoozed(scope, until):
            return message(
                f":zzz: Snoozed {escape(scope)} in this channel until {date(until)}. "
                "New alerts of that kind are recorded but not posted, and reminders wait."
            )
        case AlreadySnoozed(scope, until, by):
            return message(
                f"{_sentence_case(escape(scope))} is already snoozed here until {date(until)} "
                f"(by {_who(by)}). Nothing changed."
            )
        case BackupsShown(page, backup_filter):
            return listing(page, backup_filter=backup_filter, limit=DEFAULT_LIMIT, now=now)
        case ListingFailed(failure, destination_id):
            return message(explain.northflank_failure(failure, destination=destination_id))
        case WriteRefused(admins) if not admins:
            return message(
                "Nobody may use the write buttons: BOT_ADMINS is empty, so I change nothing in "
                "Northflank. Nothing was done."
            )
        case WriteRefused(admins):
            return message(
                "Only the bot's admins (BOT_ADMINS) can change backups in Northflank, so nothing "
                "was done." + explain.ask_admins(admins)
            )
        case WriteNotApplicable():
            return message(
                "That button doesn't belong to this alert, so nothing was done. "
                "`/backups help` explains the buttons."
            )
        case WriteUnderWay(by, since):
            return message(
                f"{_who(by)} pressed that {date(since)}; "
                "it is under way. Its result will appear in the alert's thread."
            )
        case WriteAlreadyDone(by, at, result):
            return message(
                f"{_who(by)} already did that {date(at)}: "
                f"{escape(result or 'done')}. Nothing was done again."
            )
        case _:
            assert_never(outcome)


def _who(user_id: str) -> str:
    return mention(user_id) or "Someone"


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]
