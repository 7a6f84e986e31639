"""Buttons on our messages, and every other button press that reaches us."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.core.audit import Requester
from bot.slack.after_ack import AfterAck, Job
from bot.slack.answers import Answers
from bot.slack.listeners.acking import queue_reply_then_ack
from bot.slack.listeners.who import requester_of
from bot.slack.render import kit
from bot.slack.render.listing import NEXT_PAGE_ACTION
from bot.slack.responder import Responder
from bot.slack.workspaces import Workspaces

# Any action id at all: registered after every other listener (see register_catch_all).
_ANY_BLOCK_ACTION: dict[str, str | re.Pattern[str]] = {
    "type": "block_actions",
    "action_id": re.compile(""),
}


def register(
    app: AsyncApp,
    answers: Answers,
    responder: Responder,
    after_ack: AfterAck,
    workspaces: Workspaces,
) -> None:
    async def handle_next_page(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any]) -> None:
        value = action.get("value")
        response_url = str(body.get("response_url", ""))

        async def reply() -> None:
            who = requester_of(body, workspaces) or Requester(user_id="", channel_id="")
            answer = await answers.for_next_page(value if isinstance(value, str) else "", who)
            # The listing is ephemeral; replacing it keeps one page on screen at a time.
            await responder.send(response_url, answer, replace_original=True)

        await queue_reply_then_ack(ack, after_ack, reply)

    app.middleware(AnswerUnreadableButtons(responder, after_ack))
    app.action(NEXT_PAGE_ACTION)(handle_next_page)


def register_catch_all(app: AsyncApp, responder: Responder, after_ack: AfterAck) -> None:
    """Answer the buttons no other listener took. Bolt tries listeners in the order
    they were registered, so this must come after all of them."""

    async def handle_unknown_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        # A button from an older version of the bot, or one that was never ours:
        # say so rather than let Bolt answer 404, which Slack shows as an error.
        await queue_reply_then_ack(
            ack, after_ack, _answer(responder, body, kit.UNKNOWN_BUTTON_TEXT)
        )

    app.action(_ANY_BLOCK_ACTION)(handle_unknown_button)


class AnswerUnreadableButtons(AsyncMiddleware):
    """A button press whose `actions` Bolt cannot read gets a plain answer.

    Bolt takes `actions[0]["action_id"]` on trust while matching listeners
    (and while building any listener's or function middleware's arguments),
    so a malformed list would end in a 500 and a traceback. This runs after
    Bolt has verified the signature, and never asks Bolt for `action`.
    """

    def __init__(self, responder: Responder, after_ack: AfterAck) -> None:
        self._responder = responder
        self._after_ack = after_ack

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        body = req.body
        if body.get("type") != "block_actions" or _readable_actions(body.get("actions")):
            return await next()
        reply = _answer(self._responder, body, kit.UNREADABLE_BUTTON_TEXT)
        return await queue_reply_then_ack(req.context.ack, self._after_ack, reply)


def _readable_actions(actions: object) -> bool:
    if not isinstance(actions, list) or not actions:
        return False
    first = actions[0]
    return isinstance(first, dict) and isinstance(first.get("action_id"), str)


def _answer(responder: Responder, body: dict[str, Any], text: str) -> Job:
    """The reply job for `text`, posted to the request's response_url if it has one."""
    response_url = body.get("response_url")

    async def reply() -> None:
        # Not replace_original: the message holding the button may be a channel alert.
        await responder.send(
            response_url if isinstance(response_url, str) else "", kit.message(text)
        )

    return reply
