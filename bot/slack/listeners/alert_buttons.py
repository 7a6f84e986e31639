"""The buttons on alerts: ack, read the press, delegate to AlertActions.

Slack needs the ack within 3 s, and a write on Northflank may take longer,
so every press is queued as a reply job first (queue_reply_then_ack). The
press carries only the alert's ledger id: the rest is read from the store,
so a button works on any replica and after any restart.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.audit import Requester
from bot.services.alert_actions import AlertActions
from bot.services.alert_outcomes import ActionOutcome
from bot.slack.after_ack import AfterAck
from bot.slack.listeners.acking import queue_reply_then_ack
from bot.slack.listeners.who import requester_of
from bot.slack.render import explain, kit
from bot.slack.render.action_replies import action_reply
from bot.slack.render.alert_buttons import (
    ACKNOWLEDGE_ACTION,
    ALERT_ACTIONS,
    SHOW_BACKUPS_ACTION,
    SNOOZE_ACTION,
    WRITE_ACTION_AUDIT,
    parse_alert_id,
    parse_snooze_value,
)
from bot.slack.render.kit import Reply
from bot.slack.responder import Responder
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    alert_actions: AlertActions,
    responder: Responder,
    after_ack: AfterAck,
    *,
    workspaces: Workspaces,
    clock: Callable[[], datetime],
) -> None:
    async def handle_alert_button(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any]
    ) -> None:
        response_url = body.get("response_url")
        who = requester_of(body, workspaces)

        async def reply() -> None:
            answer: Reply | None
            try:
                pressed = await _press(alert_actions, action, who)
                answer = (
                    kit.message(pressed)
                    if isinstance(pressed, str)
                    else action_reply(pressed, clock())
                )
            except Exception:
                reference = uuid.uuid4().hex[:8]
                log.exception("could not answer an alert button", extra={"reference": reference})
                answer = kit.message(explain.internal_failure(reference))
            if answer is not None:
                # Ephemeral, and not replace_original: the button sits on a channel alert.
                await responder.send(response_url if isinstance(response_url, str) else "", answer)

        await queue_reply_then_ack(ack, after_ack, reply)

    for action_id in sorted(ALERT_ACTIONS):
        app.action(action_id)(handle_alert_button)


async def _press(
    alert_actions: AlertActions, action: dict[str, Any], who: Requester | None
) -> ActionOutcome | str:
    """What the press came to, or the fixed text for a press that cannot be read."""
    action_id = action.get("action_id")
    if who is None:
        return kit.UNREADABLE_BUTTON_TEXT
    if action_id == SNOOZE_ACTION:
        selected = action.get("selected_option")
        parsed = parse_snooze_value(selected.get("value") if isinstance(selected, dict) else None)
        if parsed is None:
            return kit.UNREADABLE_BUTTON_TEXT
        return await alert_actions.snooze(*parsed, who)
    alert_id = parse_alert_id(action.get("value"))
    if alert_id is None:
        return kit.UNREADABLE_BUTTON_TEXT
    if action_id == ACKNOWLEDGE_ACTION:
        return await alert_actions.acknowledge(alert_id, who)
    if action_id == SHOW_BACKUPS_ACTION:
        return await alert_actions.show_backups(alert_id, who)
    write = WRITE_ACTION_AUDIT.get(str(action_id))
    if write is None:
        return kit.UNKNOWN_BUTTON_TEXT
    return await alert_actions.write(write, alert_id, who)
