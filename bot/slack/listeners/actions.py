"""Buttons on our messages."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.answers import Answers
from bot.slack.blocks import NEXT_PAGE_ACTION


def register(app: AsyncApp, answers: Answers) -> None:
    async def handle_next_page(
        ack: AsyncAck, action: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        value = action.get("value")
        reply = await answers.for_next_page(value if isinstance(value, str) else "")
        # The listing is ephemeral; replacing it keeps one page on screen at a time.
        await respond(replace_original=True, response_type="ephemeral", **reply)

    app.action(NEXT_PAGE_ACTION)(handle_next_page)
