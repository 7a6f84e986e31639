"""Northflank connections in Slack: the connect modal, `connections`, `use`, `disconnect`. Pure.

The token field is never echoed: not in a reply, not in a view the bot
updates, not in an error. Names come from people and Northflank's answers
from Northflank; both are escaped.
"""

from __future__ import annotations

from typing import Any, assert_never

from bot.core.connections import ENVIRONMENT, ConnectionUse, Disconnected
from bot.core.messages import DisconnectedNote
from bot.services.connecting import (
    NAME,
    TEAM,
    TOKEN,
    Connected,
    ConnectionList,
    NotAllowed,
    UnknownConnection,
    UseOutcome,
    Using,
)
from bot.slack.render import kit
from bot.slack.render.kit import Reply
from bot.slack.render.mrkdwn import code, escape, mention

CONNECT_CALLBACK = "connect-northflank"
DISCONNECT_ACTION = "disconnect-connection"
# Each input's action id: the block id says which field it is.
INPUT_ACTION = "value"

View = dict[str, Any]


def connect_modal(channel: str) -> View:
    """The form `/backups connect` opens; `channel` comes back in private_metadata."""
    return {
        "type": "modal",
        "callback_id": CONNECT_CALLBACK,
        "private_metadata": channel,
        "title": {"type": "plain_text", "text": "Connect Northflank"},
        "submit": {"type": "plain_text", "text": "Check and save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "The token is checked with Northflank before it is saved, and "
                    "stored encrypted. Nobody, not even admins, can read it back from Slack.",
                },
            },
            _input(NAME, "Name", "acme-prod", hint="How channels choose it: /backups use NAME"),
            _input(TOKEN, "Northflank API token", "", hint="Team settings → API → Tokens"),
            _input(
                TEAM,
                "Team id (organisation tokens only)",
                "acme-prod",
                optional=True,
            ),
        ],
    }


def _input(
    block_id: str, label: str, placeholder: str, *, hint: str | None = None, optional: bool = False
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": INPUT_ACTION}
    if placeholder:
        element["placeholder"] = {"type": "plain_text", "text": placeholder}
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": label},
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def connect_errors(errors: dict[str, str]) -> dict[str, str]:
    """Field errors for `response_action: errors`: plain text, at most 150 characters each."""
    return {field: text[:150] for field, text in errors.items()}


def result_view(title: str, text: str) -> View:
    """What the modal shows once the check is over (or while it runs)."""
    return {
        "type": "modal",
        "callback_id": CONNECT_CALLBACK,
        "title": {"type": "plain_text", "text": title[:24]},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [kit.section(text)],
    }


def connected_text(connected: Connected) -> str:
    connection = connected.connection
    count = connected.destinations
    return (
        f"Connected {code(connection.name)}: {escape(connected.described)}, which sees "
        f"{count} backup destination{'s' if count != 1 else ''}. "
        f"A channel uses it after `/backups use {connection.name}`."
    )


def not_allowed(outcome: NotAllowed, what: str) -> Reply:
    if not outcome.admins:
        return kit.message(
            f"Only the bot's admins may {what}, and it has none yet: its operator lists them "
            "in BOT_ADMINS."
        )
    admins = ", ".join(mention(a) or code(a) for a in sorted(outcome.admins)[:10])
    return kit.message(f"Only the bot's admins may {what}: {admins}.")


def connections_reply(listed: ConnectionList) -> Reply:
    if not listed.rows:
        return kit.message(
            "No Northflank connection yet. An admin adds one with `/backups connect`."
        )
    lines = [_row(row, listed.using) for row in listed.rows]
    if listed.using is None:
        lines.append("This channel uses none of them yet: `/backups use NAME` chooses one.")
    return {
        "text": "Northflank connections",
        "blocks": [kit.header("Northflank connections")]
        + [kit.section(text) for text in kit.chunk(lines)],
    }


def _row(row: ConnectionUse, using: int | None) -> str:
    connection = row.connection
    name = code(connection.name)
    if connection.id == ENVIRONMENT:
        name += " (NORTHFLANK_API_TOKEN)"
    if connection.id == using:
        name += " — *this channel*"
    team = f"team {code(connection.northflank_team_id)}" if connection.northflank_team_id else ""
    destinations = (
        f"{row.destinations} destination{'s' if row.destinations != 1 else ''}"
        if row.destinations is not None
        else "destinations unknown (Northflank did not answer)"
    )
    budget = (
        f"{row.budget_remaining:,} of {row.budget_limit:,} requests left this hour"
        if row.budget_remaining is not None and row.budget_limit is not None
        else "budget not known yet"
    )
    channels = ", ".join(_channel(c) for c in row.channels[:10]) or "no channel"
    more = f" and {len(row.channels) - 10} more" if len(row.channels) > 10 else ""
    parts = [p for p in (team, destinations, budget, f"used by {channels}{more}") if p]
    return f"• {name}: " + "; ".join(parts)


def _channel(channel: str) -> str:
    # A link only for an id of Slack's shape: anything else inside <#...> could be markup.
    return f"<#{channel}>" if channel.isalnum() and channel.isupper() else code(channel)


def use_reply(outcome: UseOutcome) -> Reply:
    match outcome:
        case Using(name):
            return kit.message(
                f"This channel now uses {code(name)}: `/backups list`, `destinations`, "
                "`watch` and `report` go through it. Watches started before keep their own "
                "connection."
            )
        case UnknownConnection():
            return unknown_connection(outcome)
        case NotAllowed():
            return not_allowed(outcome, "choose a channel's connection")
        case _:
            assert_never(outcome)


def unknown_connection(outcome: UnknownConnection) -> Reply:
    known = ", ".join(code(n) for n in outcome.known[:10]) or "none yet"
    return kit.message(
        f"There is no connection called {code(outcome.name, 40)}. The connections: {known}."
    )


def disconnect_confirmation(name: str) -> Reply:
    """The button that disconnects, behind Slack's own confirmation dialog."""
    text = (
        f"Disconnect {code(name)}? Every watch through it stops, the channels that used it are "
        "told, and its token is deleted."
    )
    button = {
        "type": "button",
        "action_id": DISCONNECT_ACTION,
        "style": "danger",
        "text": {"type": "plain_text", "text": f"Disconnect {name}"[:75]},
        "value": name,
        "confirm": {
            "title": {"type": "plain_text", "text": "Disconnect?"},
            "text": {
                "type": "mrkdwn",
                "text": f"{code(name)} and its watches go. This cannot be undone.",
            },
            "confirm": {"type": "plain_text", "text": "Disconnect"},
            "deny": {"type": "plain_text", "text": "Keep it"},
            "style": "danger",
        },
    }
    return {"text": text, "blocks": [kit.section(text), {"type": "actions", "elements": [button]}]}


def disconnected_reply(done: Disconnected) -> Reply:
    channels = len(done.channels)
    return kit.message(
        f"Disconnected {code(done.connection.name)}: {done.watches} watch"
        f"{'es' if done.watches != 1 else ''} stopped; {channels} channel"
        f"{'s are' if channels != 1 else ' is'} told."
    )


def disconnected_note(note: DisconnectedNote) -> Reply:
    stopped = ", ".join(f"*{escape(name)}*" for name in note.destinations[:20])
    watches = f" This channel no longer watches {stopped}." if stopped else ""
    return kit.message(
        f"{mention(note.user_id) or 'Someone'} disconnected the Northflank connection "
        f"{code(note.connection)}.{watches} `/backups connections` lists the others."
    )
