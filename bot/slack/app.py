"""Builds the Bolt AsyncApp: one Slack client, honouring SLACK_API_URL."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import BotSettings
from bot.slack import listeners
from bot.slack.answers import Answers


def build_web_client(settings: BotSettings) -> AsyncWebClient:
    # slack_sdk retries only connection errors unless told otherwise.
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def build_app(settings: BotSettings, answers: Answers) -> AsyncApp:
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=build_web_client(settings),
        # Socket Mode requests are not signed; Bolt skips verification for them.
        signing_secret=secret.get_secret_value() if secret else "",
        logger=logging.getLogger("bot.slack.bolt"),
    )
    listeners.register(app, answers)
    return app
