"""The connect modal, its submission, and the confirmed Disconnect button.

A submission must be acked within 3 seconds, and the check (two Northflank
requests) usually fits: then a problem is shown on its field (`response_action:
errors`) and nothing is saved. When Northflank is slow, the modal is acked
with a "checking" view and updated with the result once the check is over.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.audit import Requester
from bot.core.tenancy import slack_channel
from bot.services.connecting import (
    NAME,
    TEAM,
    TOKEN,
    ConnectionAdmin,
    ConnectOutcome,
    ConnectRefused,
    NotAllowed,
)
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.listeners.acking import queue_reply_then_ack
from bot.slack.listeners.who import requester_of
from bot.slack.render import kit
from bot.slack.render.connections import (
    CONNECT_CALLBACK,
    DISCONNECT_ACTION,
    INPUT_ACTION,
    View,
    connect_errors,
    connect_modal,
    connected_text,
    not_allowed,
    result_view,
)
from bot.slack.render.kit import Reply
from bot.slack.render.mrkdwn import escape
from bot.slack.responder import Responder
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)

# What is left of Slack's 3 seconds for the check, before acking with "checking".
CHECK_WITHIN = 2.0


class ConnectForm:
    """Opens the connect modal for `/backups connect` (the command's listener calls it)."""

    def __init__(self, admin: ConnectionAdmin) -> None:
        self._admin = admin

    async def open(self, client: AsyncWebClient, trigger_id: str, who: Requester) -> Reply | None:
        """None once the modal is open; else the private answer that says why not."""
        if not await self._admin.may_connect(who):
            return not_allowed(await self._admin.refusal(who), "connect Northflank")
        try:
            modal = connect_modal(slack_channel(who.channel_id))
            await client.views_open(trigger_id=trigger_id, view=modal)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown"))
            log.warning("the connect form did not open: %s", code)
            return kit.message(
                "The form did not open in time (Slack allows 3 seconds). "
                "Please run `/backups connect` again."
            )
        return None


def register(
    app: AsyncApp,
    admin: ConnectionAdmin,
    answers: Answers,
    responder: Responder,
    after_ack: AfterAck,
    workspaces: Workspaces,
) -> None:
    async def handle_connect(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        # The modal carries the channel it was opened in; the workspace is the one
        # Slack signed this submission for, never anything the payload names.
        who = workspaces.requester(
            body,
            user_id if isinstance(user_id, str) else "",
            str(view.get("private_metadata") or ""),
        )
        values = _values(view)
        check = asyncio.create_task(
            admin.connect(values.get(NAME, ""), values.get(TOKEN, ""), values.get(TEAM, ""), who)
        )
        done, _ = await asyncio.wait({check}, timeout=CHECK_WITHIN)
        if check in done:
            quick = _outcome(check)
            if isinstance(quick, ConnectRefused):
                await ack(response_action="errors", errors=connect_errors(quick.errors))
            else:
                await ack(response_action="update", view=_final_view(quick))
            return
        await ack(
            response_action="update",
            view=result_view("Checking…", "Checking the token with Northflank…"),
        )
        outcome: ConnectOutcome | BaseException
        try:
            outcome = await check
        except Exception as exc:
            outcome = exc
        try:
            await client.views_update(view_id=str(view.get("id", "")), view=_final_view(outcome))
        except SlackApiError as exc:
            log.warning("the connect form could not show its result: %s", exc.response.get("error"))

    async def handle_disconnect(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any]
    ) -> None:
        value = action.get("value")
        response_url = str(body.get("response_url", ""))

        async def reply() -> None:
            who = requester_of(body, workspaces) or Requester(user_id="", channel_id="")
            answer = await answers.for_disconnect_button(
                value if isinstance(value, str) else "", who
            )
            await responder.send(response_url, answer, replace_original=True)

        await queue_reply_then_ack(ack, after_ack, reply)

    app.view(CONNECT_CALLBACK)(handle_connect)
    app.action(DISCONNECT_ACTION)(handle_disconnect)


def _values(view: dict[str, Any]) -> dict[str, str]:
    """Each field's text; a field left empty (or an odd payload) reads as ''."""
    state = view.get("state")
    blocks = state.get("values") if isinstance(state, dict) else None
    found: dict[str, str] = {}
    for field in (NAME, TOKEN, TEAM):
        entry = blocks.get(field) if isinstance(blocks, dict) else None
        element = entry.get(INPUT_ACTION) if isinstance(entry, dict) else None
        value = element.get("value") if isinstance(element, dict) else None
        found[field] = value if isinstance(value, str) else ""
    return found


def _outcome(check: asyncio.Task[ConnectOutcome]) -> ConnectOutcome | BaseException:
    error = check.exception()
    return error if error is not None else check.result()


def _final_view(outcome: ConnectOutcome | BaseException) -> View:
    if isinstance(outcome, BaseException):
        reference = uuid.uuid4().hex[:8]
        log.error(
            "checking a Northflank token failed inside the bot",
            exc_info=outcome,
            extra={"reference": reference},
        )
        return result_view(
            "Not saved",
            f"Something went wrong on my side (reference `{reference}`); nothing was saved. "
            "Please run `/backups connect` again.",
        )
    if isinstance(outcome, ConnectRefused):
        problems = "\n".join(f"• {escape(text)}" for text in outcome.errors.values())
        return result_view(
            "Not saved", f"Nothing was saved:\n{problems}\nRun `/backups connect` again."
        )
    if isinstance(outcome, NotAllowed):
        return result_view("Not allowed", not_allowed(outcome, "connect Northflank")["text"])
    return result_view("Connected", connected_text(outcome))
