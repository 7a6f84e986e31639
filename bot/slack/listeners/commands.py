"""The `/backups` slash command."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import commands
from bot.slack import blocks
from bot.slack.answers import Answers

log = logging.getLogger(__name__)


def register(app: AsyncApp, answers: Answers) -> None:
    async def handle_backups(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        # Slack gives us 3 seconds; everything slow happens after the ack.
        await ack()
        text = command.get("text")
        try:
            parsed = commands.parse(text if isinstance(text, str) else "")
        except commands.CommandError as exc:
            reply = blocks.message(str(exc))
        else:
            reply = await answers.for_command(parsed)
        await respond(response_type="ephemeral", **reply)

    app.command("/backups")(handle_backups)
