"""Builds the Bolt AsyncApp and its Slack clients, honouring SLACK_API_URL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.alert_actions import AlertActions
from bot.services.connecting import ConnectionAdmin
from bot.services.home import HomeService
from bot.services.workspaces import WorkspaceService
from bot.slack import listeners
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.listeners import installs as installs_listeners
from bot.slack.responder import Responder
from bot.slack.workspaces import Workspaces

# The bot's scopes: what manifest.yml asks for, and what the OAuth flow asks each workspace.
SCOPES = (
    "commands",
    "chat:write",
    "chat:write.public",
    "channels:join",
    "files:write",
    "im:write",
)


def build_web_client(
    token: str | None, api_url: str, *, wait_out_errors: bool = True
) -> AsyncWebClient:
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


@dataclass(frozen=True, slots=True)
class Installs:
    """What a distributable app adds: Bolt's OAuth settings, the store of installations,
    and the service that removes a workspace that uninstalls."""

    oauth_settings: AsyncOAuthSettings
    store: AsyncInstallationStore
    service: WorkspaceService


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
    workspaces: Workspaces | None = None,
    installs: Installs | None = None,
    clock: Callable[[], datetime],
) -> AsyncApp:
    """The Bolt app. With `installs`, a distributable app: Bolt's OAuth flow installs it
    per workspace, and each request is authorised with its workspace's own bot token."""
    bolt_logger = logging.getLogger("bot.slack.bolt")
    if not any(isinstance(f, _SkipTokenNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_SkipTokenNotice())
    app = AsyncApp(
        client=client,
        # Socket Mode requests are not signed; Bolt skips verification for them.
        signing_secret=signing_secret,
        logger=bolt_logger,
        oauth_settings=installs.oauth_settings if installs is not None else None,
        installation_store=installs.oauth_settings.installation_store if installs else None,
    )
    workspaces = workspaces or Workspaces(client)
    listeners.register(
        app,
        answers,
        responder,
        after_ack,
        alert_actions,
        home_service=home_service,
        connection_admin=connection_admin,
        workspaces=workspaces,
        clock=clock,
    )
    if installs is not None:
        installs_listeners.register(app, installs.service, workspaces, installs.store)
    return app
