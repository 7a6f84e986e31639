"""The port to the chat surface: what delivery asks of it, and how it can fail.

Delivery (bot/services/delivery.py) decides what to post, when, and what a
failure means for the message; a `ChatSender` only renders and sends. The
Slack adapter (bot/slack/sender.py) is the one implementation. It turns
every refusal into one of the errors below, so the pipeline's decisions
(wait out a 429, park a channel, disable a watch, give up on a message) are
made here, in words of our own, and tested without Slack.
"""

from __future__ import annotations

from typing import Protocol

from bot.core.messages import AlertDigest, ChannelMessage


class ChatError(Exception):
    """The chat surface did not take a message.

    `code` is the surface's own word for why (Slack's `error`, say); the
    message says it for a log line and the outbox row's last error.
    """

    def __init__(self, code: str, message: str | None = None) -> None:
        super().__init__(message or code)
        self.code = code


class RateLimited(ChatError):
    """Too many messages: try again after `retry_after` seconds."""

    def __init__(self, code: str, message: str, *, retry_after: float) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class Unavailable(ChatError):
    """The surface or the network failed (5xx, a dropped connection): try again later."""


class ChannelGone(ChatError):
    """The channel no longer exists or is archived: nothing will ever be posted there.

    The message says which, for the watches it disables.
    """


class CannotJoin(ChatError):
    """The bot is not in the channel and could not join it (a private channel, say)."""


class CredentialsRejected(ChatError):
    """The surface rejects the bot's own token: a configuration problem."""


class MessageRefused(ChatError):
    """The message itself was refused (too long, malformed): sending it again cannot help."""


class EditImpossible(ChatError):
    """The message to edit is gone or can no longer be edited."""


class ChatSender(Protocol):
    async def post(
        self, channel: str, message: ChannelMessage, *, thread_ts: str | None = None
    ) -> str:
        """Post `message` (in the thread of `thread_ts`); its ts. Raises a ChatError."""
        ...

    async def edit(self, channel: str, ts: str, message: AlertDigest) -> None:
        """Show `message` in place of the one posted at `ts`. Raises a ChatError."""
        ...
