"""Signed requests as Slack sends them to `/slack/events`."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "test-signing-secret-0123456789"

_triggers = itertools.count(1)


def _trigger_id() -> str:
    """A fresh trigger id per request: Slack's open one modal each (views.open)."""
    return f"{next(_triggers)}.1234567890.fake"


def sign(
    body: str, *, secret: str = SIGNING_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Headers for `body`, signed the way Slack documents: v0:{ts}:{body}, HMAC-SHA256."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def slash_command_body(
    text: str,
    response_url: str,
    *,
    user: str = "U0USER",
    channel: str = "C0CHAN",
    team: str = "T0FAKE",
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "ops",
            "user_id": user,
            "user_name": "someone",
            "command": "/backups",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": _trigger_id(),
        }
    )


def button_body(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = "U0USER",
    channel: str = "C0CHAN",
    message_ts: str = "1.1",
    block_id: str = "backups_paging",
    selected_option: str | None = None,
    team: str = "T0FAKE",
) -> str:
    """A block_actions payload: a button press, or with `selected_option` a static_select choice."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": "button",
        "action_ts": "1.3",
    }
    if selected_option is None:
        action["text"] = {"type": "plain_text", "text": "Next page"}
        action["value"] = value
    else:
        action["type"] = "static_select"
        action["selected_option"] = {
            "text": {"type": "plain_text", "text": selected_option},
            "value": selected_option,
        }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "trigger_id": _trigger_id(),
        "team": {"id": team, "domain": "fake"},
        "channel": {"id": channel, "name": "ops"},
        "response_url": response_url,
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


def home_opened_body(user: str = "U0USER", *, tab: str = "home", team: str = "T0FAKE") -> str:
    """An Events API callback: someone opened the app's Home tab (JSON, not a form)."""
    event = {
        "type": "app_home_opened",
        "user": user,
        "channel": "D0HOME",
        "tab": tab,
        "event_ts": "1.1",
    }
    return event_body(event, team=team)


def home_button_body(
    action_id: str,
    value: str,
    *,
    user: str = "U0USER",
    selected_option: str | None = None,
    team: str = "T0FAKE",
) -> str:
    """A block_actions payload from the Home tab: a view container, no channel and no
    response_url, as Slack sends it."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": "home", "action_ts": "1.3"}
    if selected_option is None:
        action |= {"type": "button", "value": value}
    else:
        action |= {
            "type": "static_select",
            "selected_option": {
                "text": {"type": "plain_text", "text": selected_option},
                "value": selected_option,
            },
        }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "V0HOME"},
        "trigger_id": _trigger_id(),
        "team": {"id": team, "domain": "fake"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


def view_submission_body(
    callback_id: str,
    values: Mapping[str, str | Mapping[str, str]],
    *,
    view_id: str = "VM0000001",
    private_metadata: str = "",
    user: str = "U0USER",
    team: str = "T0FAKE",
) -> str:
    """A view_submission payload: a modal's plain_text_input values, as Slack sends them.

    `values` maps block id -> {action id: value}; a bare string is the value of action id
    `value` (as bot.slack.render.connections builds its inputs). An input left empty ('')
    comes as null, as from Slack.
    """
    state = {
        block_id: {
            action_id: {"type": "plain_text_input", "value": value or None}
            for action_id, value in (
                {"value": inputs} if isinstance(inputs, str) else inputs
            ).items()
        }
        for block_id, inputs in values.items()
    }
    payload: dict[str, Any] = {
        "type": "view_submission",
        "team": {"id": team, "domain": "fake"},
        "user": {"id": user, "username": "someone", "team_id": team},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "trigger_id": _trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "state": {"values": state},
            "hash": "1.abc",
            "title": {"type": "plain_text", "text": "Form"},
            "blocks": [],
            "root_view_id": view_id,
            "app_id": "A0APP",
            "app_installed_team_id": team,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any], *, team: str = "T0FAKE") -> str:
    """An Events API callback (JSON, not a form): `app_home_opened`, `app_uninstalled`,
    `tokens_revoked` (`{"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [...]}}`)."""
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": team,
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": f"Ev{abs(hash((team, json.dumps(event)))) % 10**8:08d}",
            "event_time": 1,
            "event": event,
        }
    )
