"""Buttons on our messages."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.blocks import NEXT_PAGE_ACTION
from bot.slack.listeners.acking import queue_reply_then_ack
from bot.slack.responder import Responder


def register(app: AsyncApp, answers: Answers, responder: Responder, after_ack: AfterAck) -> None:
    async def handle_next_page(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any]) -> None:
        value = action.get("value")
        response_url = str(body.get("response_url", ""))

        async def reply() -> None:
            answer = await answers.for_next_page(value if isinstance(value, str) else "")
            # The listing is ephemeral; replacing it keeps one page on screen at a time.
            await responder.send(response_url, answer, replace_original=True)

        await queue_reply_then_ack(ack, after_ack, reply)

    app.action(NEXT_PAGE_ACTION)(handle_next_page)
