"""The `/backups` slash command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.command_parser import parse
from bot.core.commands import CommandError, ConnectCommand
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.listeners.acking import queue_reply_then_ack
from bot.slack.listeners.connections import ConnectForm
from bot.slack.render import kit
from bot.slack.render.kit import Reply
from bot.slack.responder import Responder
from bot.slack.workspaces import Workspaces


def register(
    app: AsyncApp,
    answers: Answers,
    responder: Responder,
    after_ack: AfterAck,
    workspaces: Workspaces,
    connect_form: ConnectForm | None = None,
) -> None:
    async def handle_backups(
        ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient
    ) -> None:
        text = command.get("text")
        response_url = str(command.get("response_url", ""))
        who = workspaces.requester(
            command, str(command.get("user_id", "")), str(command.get("channel_id", ""))
        )

        async def reply() -> None:
            try:
                parsed = parse(text if isinstance(text, str) else "")
            except CommandError as exc:
                answer: Reply | None = kit.plain_message(str(exc))
            else:
                if isinstance(parsed, ConnectCommand) and connect_form is not None:
                    # The modal needs the command's trigger, which expires 3 s after it.
                    trigger = str(command.get("trigger_id", ""))
                    answer = await connect_form.open(client, trigger, who)
                else:
                    answer = await answers.for_command(parsed, who)
            if answer is not None:
                await responder.send(response_url, answer)

        # Slack gives us 3 seconds; everything slow happens after the ack.
        await queue_reply_then_ack(ack, after_ack, reply)

    app.command("/backups")(handle_backups)
