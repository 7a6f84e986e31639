"""Builds the Bolt AsyncApp and its Slack clients, honouring SLACK_API_URL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.alert_actions import AlertActions
from bot.services.connecting import ConnectionAdmin
from bot.services.home import HomeService
from bot.slack import listeners
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.responder import Responder


def build_web_client(token: str, api_url: str, *, wait_out_errors: bool = True) -> AsyncWebClient:
    """slack_sdk retries only connection errors unless told otherwise.

    With `wait_out_errors` it also sleeps through 429s and retries 5xx, which
    suits request/response work. The alert delivery loop passes False: it
    keeps its own schedule in the outbox instead of sleeping inside a call.
    """
    handlers: list[AsyncRetryHandler] = [AsyncConnectionErrorRetryHandler(max_retry_count=2)]
    if wait_out_errors:
        handlers += [
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ]
    return AsyncWebClient(token=token, base_url=api_url, retry_handlers=handlers)


class _SkipTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment even when it is given a
    client, then warns that it will not use it. We give it the client on purpose
    (for SLACK_API_URL and the retry handlers), so the warning is only noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


def build_app(
    client: AsyncWebClient,
    *,
    signing_secret: str,
    answers: Answers,
    responder: Responder,
    after_ack: AfterAck,
    alert_actions: AlertActions | None = None,
    home_service: HomeService | None = None,
    connection_admin: ConnectionAdmin | None = None,
    clock: Callable[[], datetime],
) -> AsyncApp:
    bolt_logger = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _SkipTokenNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SkipTokenNotice())
    app = AsyncApp(
        client=client,
        # Socket Mode requests are not signed; Bolt skips verification for them.
        signing_secret=signing_secret,
        logger=bolt_logger,
    )
    listeners.register(
        app,
        answers,
        responder,
        after_ack,
        alert_actions,
        home_service=home_service,
        connection_admin=connection_admin,
        clock=clock,
    )
    return app
