"""The chat surface's half of delivery: render, then chat.postMessage or chat.update.

Implements `ChatSender` (bot/services/chat.py). Everything Slack-specific
about posting lives here: joining a public channel the bot is not in yet,
falling back to plain text when Slack refuses a message's blocks, and
reading Slack's refusals (`error`, HTTP status, Retry-After) into the port's
errors, so that the delivery pipeline decides in words of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.charts.report_chart import render_report_png
from bot.core.messages import AlertDigest, ChannelMessage, ReportMessage
from bot.core.tenancy import split_channel_key
from bot.services.chat import (
    CannotJoin,
    ChannelGone,
    ChatError,
    CredentialsRejected,
    EditImpossible,
    MessageRefused,
    RateLimited,
    Unavailable,
)
from bot.slack.render.channel_messages import channel_message
from bot.slack.render.kit import Reply
from bot.slack.render.report import report_comment, report_filename, report_title
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)

# How long to wait when Slack says 429 without Retry-After.
DEFAULT_RETRY_AFTER = 30.0
# Slack errors that mean "we may never post here again", and what they mean.
CHANNEL_GONE = {
    "channel_not_found": "the channel no longer exists (or the bot cannot see it)",
    "is_archived": "the channel is archived",
}
# Slack refuses the blocks themselves; a plain-text version may still go out.
BLOCKS_REFUSED = {"invalid_blocks", "msg_too_long", "msg_blocks_too_long", "invalid_blocks_format"}
# The edit cannot be made; the thread reply already carries the news.
EDIT_IMPOSSIBLE = {"message_not_found", "cant_update_message", "edit_window_closed"}
# The bot's own credentials: a configuration problem, retried slowly, loudly.
AUTH_PROBLEMS = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
# The message itself is wrong: sending it again cannot help.
MESSAGE_REFUSED = BLOCKS_REFUSED | {"no_text", "invalid_arguments"}


class SlackSender:
    """Posts to a channel key (bot/core/tenancy.py) with its workspace's client."""

    def __init__(
        self, client: AsyncWebClient | Workspaces, *, clock: Callable[[], datetime]
    ) -> None:
        self._workspaces = client if isinstance(client, Workspaces) else Workspaces(client)
        self._clock = clock

    async def _client_for(self, key: str) -> tuple[AsyncWebClient, str]:
        """The workspace's client and Slack's channel id; ChannelGone once uninstalled."""
        team, channel = split_channel_key(key)
        client = await self._workspaces.client(team)
        if client is None:
            raise ChannelGone("app_uninstalled", "the app is no longer installed in its workspace")
        return client, channel

    async def post(
        self, channel: str, message: ChannelMessage, *, thread_ts: str | None = None
    ) -> str:
        if isinstance(message, ReportMessage) and not message.report.is_empty:
            return await _in_port_terms(self._upload_report(channel, message))
        reply = channel_message(message, self._clock())
        return await _in_port_terms(self._post(channel, reply, thread_ts))

    async def _upload_report(self, channel: str, message: ReportMessage) -> str:
        """The report's chart as a PNG, with its summary as the comment; the file's id.

        The chart is drawn in a worker thread (matplotlib's object-oriented API,
        no pyplot state), so the event loop keeps acking meanwhile.
        """
        client, slack_channel = await self._client_for(channel)
        png = await asyncio.to_thread(render_report_png, message.report)
        arguments: dict[str, Any] = {
            "channel": slack_channel,
            "content": png,
            "filename": report_filename(message.report),
            "title": report_title(message.report),
            "initial_comment": report_comment(message),
        }
        try:
            response = await client.files_upload_v2(**arguments)
        except SlackApiError as exc:
            if error_of(exc) != "not_in_channel":
                raise
            await _join(client, slack_channel)
            response = await client.files_upload_v2(**arguments)
        shared = response.get("file") or {}
        return str(shared.get("id") or "file")

    async def edit(self, channel: str, ts: str, message: AlertDigest) -> None:
        reply = channel_message(message, self._clock())
        client, slack_channel = await self._client_for(channel)
        try:
            await client.chat_update(
                channel=slack_channel, ts=ts, text=reply["text"], blocks=reply["blocks"]
            )
        except SlackApiError as exc:
            error = error_of(exc)
            if error in EDIT_IMPOSSIBLE:
                raise EditImpossible(error) from exc
            raise chat_error(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unavailable("network", f"network: {type(exc).__name__}") from exc

    async def _post(self, channel: str, reply: Reply, thread_ts: str | None) -> str:
        """chat.postMessage, joining the channel first if Slack says we are not in it."""
        client, slack_channel = await self._client_for(channel)
        try:
            return await _post_once(client, slack_channel, reply, thread_ts)
        except SlackApiError as exc:
            error = error_of(exc)
            if error == "not_in_channel":
                await _join(client, slack_channel)
                return await _post_once(client, slack_channel, reply, thread_ts)
            if error in BLOCKS_REFUSED:
                log.warning("Slack refused an alert's blocks (%s); sending plain text", error)
                return await _post_once(client, slack_channel, {"text": reply["text"]}, thread_ts)
            raise


async def _post_once(
    client: AsyncWebClient, channel: str, reply: Reply, thread_ts: str | None
) -> str:
    arguments: dict[str, Any] = {
        "channel": channel,
        "text": reply["text"],
        # Alerts mention no one by accident; names are escaped too.
        "unfurl_links": False,
        "unfurl_media": False,
    }
    if reply.get("blocks"):
        arguments["blocks"] = reply["blocks"]
    if thread_ts:
        arguments["thread_ts"] = thread_ts
    response = await client.chat_postMessage(**arguments)
    return str(response["ts"])


async def _join(client: AsyncWebClient, channel: str) -> None:
    try:
        await client.conversations_join(channel=channel)
    except SlackApiError as exc:
        raise CannotJoin(error_of(exc)) from exc


async def _in_port_terms(work: Awaitable[str]) -> str:
    """`work`'s result, with Slack's refusals and network trouble as the port's errors."""
    try:
        return await work
    except SlackApiError as exc:
        raise chat_error(exc) from exc
    except SlackRequestError as exc:
        # The upload step of files_upload_v2 answered with something other than 200. Its
        # text carries Slack's response body and the file's title (a destination name):
        # the code says enough for the outbox row and the log line.
        raise Unavailable("upload_failed", "the file upload to Slack failed") from exc
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unavailable("network", f"network: {type(exc).__name__}") from exc


def chat_error(exc: SlackApiError) -> ChatError:
    """What a refusal by Slack means, in the port's words."""
    error = error_of(exc)
    status = exc.response.status_code if exc.response is not None else None
    if status == 429 or error == "ratelimited":
        return RateLimited(error, "rate limited by Slack", retry_after=_retry_after(exc))
    if status is not None and status >= 500:
        return Unavailable(error, f"Slack answered {status}")
    if error in CHANNEL_GONE:
        return ChannelGone(error, CHANNEL_GONE[error])
    if error in AUTH_PROBLEMS:
        return CredentialsRejected(error, f"Slack rejects SLACK_BOT_TOKEN ({error})")
    if error in MESSAGE_REFUSED:
        return MessageRefused(error, f"Slack refused it: {error}")
    # Anything else may be temporary (fatal_error, internal_error, ...).
    return ChatError(error, f"Slack error: {error}")


def error_of(exc: SlackApiError) -> str:
    response = exc.response
    if response is None:
        return "unknown"
    try:
        return str(response.get("error") or "unknown")
    except (AttributeError, TypeError):
        return "unknown"


def _retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers if exc.response is not None else {}
    raw = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(raw)) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
