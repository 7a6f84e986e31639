"""`/backups admins`: who the admins are, and adding or removing one. Pure."""

from __future__ import annotations

from typing import assert_never

from bot.services.admins import AdminChanged, AdminList, AdminOutcome, AdminRefused
from bot.slack.render import kit
from bot.slack.render.kit import Reply
from bot.slack.render.mrkdwn import code, mention


def admins_reply(outcome: AdminOutcome) -> Reply:
    match outcome:
        case AdminList(admins, editable):
            return kit.message(_listed(admins, editable))
        case AdminChanged(user_id, added, changed):
            who = _person(user_id)
            if added:
                text = f"{who} is an admin now." if changed else f"{who} is an admin already."
            else:
                text = f"{who} is no longer an admin." if changed else f"{who} was not an admin."
            return kit.message(text)
        case AdminRefused(admins, editable, last):
            if last:
                return kit.message(
                    "That would leave this workspace without an admin; add another first."
                )
            if not editable:
                return kit.message(
                    "The bot's admins are its operator's to set (BOT_ADMINS). "
                    + _listed(admins, editable)
                )
            return kit.message("Only an admin may change the admins. " + _listed(admins, True))
        case _:
            assert_never(outcome)


def _listed(admins: frozenset[str], editable: bool) -> str:
    if not admins:
        return "The bot has no admins (BOT_ADMINS is empty): anyone may watch, nobody may write."
    names = ", ".join(_person(a) for a in sorted(admins)[:20])
    how = " An admin adds another with `/backups admins add @someone`." if editable else ""
    return f"The admins: {names}.{how}"


def _person(user_id: str) -> str:
    return mention(user_id) or code(user_id)
