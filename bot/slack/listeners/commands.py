"""The `/backups` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.audit import Requester
from bot.core.command_parser import parse
from bot.core.commands import CommandError
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.listeners.acking import queue_reply_then_ack
from bot.slack.render import kit
from bot.slack.responder import Responder


def register(app: AsyncApp, answers: Answers, responder: Responder, after_ack: AfterAck) -> None:
    async def handle_backups(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = command.get("text")
        response_url = str(command.get("response_url", ""))
        who = Requester(
            user_id=str(command.get("user_id", "")), channel_id=str(command.get("channel_id", ""))
        )

        async def reply() -> None:
            try:
                parsed = parse(text if isinstance(text, str) else "")
            except CommandError as exc:
                answer = kit.plain_message(str(exc))
            else:
                answer = await answers.for_command(parsed, who)
            await responder.send(response_url, answer)

        # Slack gives us 3 seconds; everything slow happens after the ack.
        await queue_reply_then_ack(ack, after_ack, reply)

    app.command("/backups")(handle_backups)
