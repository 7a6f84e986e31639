"""How the bot speaks to Slack: one workspace with SLACK_BOT_TOKEN, or a distributable app.

Kept apart from server.py, which wires everything else: this is the only
part that differs between the two modes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.settings import BotSettings, DistributedBotSettings
from bot.services.admins import AdminDirectory, AdminService, FixedAdmins, WorkspaceAdmins
from bot.services.workspaces import WorkspaceService
from bot.slack.app import SCOPES, Installs, build_web_client
from bot.slack.installations import EncryptedInstallationStore, oauth_state_store
from bot.slack.workspaces import Workspaces
from bot.store import Store


def delivery_workspaces(settings: BotSettings, installs: Installs | None) -> Workspaces:
    """The clients delivery posts with: they keep their own schedule (no waiting on 429)."""
    if installs is None:
        assert settings.slack_bot_token is not None
        token = settings.slack_bot_token.get_secret_value()
        return Workspaces(build_web_client(token, settings.slack_api_url, wait_out_errors=False))
    return Workspaces(
        None,
        installations=installs.store,
        client_for_token=lambda token: build_web_client(
            token, settings.slack_api_url, wait_out_errors=False
        ),
        rotator=_rotator(settings) if isinstance(settings, DistributedBotSettings) else None,
    )


def app_client(settings: BotSettings) -> AsyncWebClient:
    """The Bolt app's own client: with no token of its own for several workspaces, as
    Bolt then authorises each request with its workspace's bot token."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return build_web_client(token, settings.slack_api_url)


def admins_for(
    settings: BotSettings, store: Store, *, clock: Callable[[], datetime]
) -> AdminService:
    """BOT_ADMINS for one workspace; each workspace's own (its installer, and whom they
    name) for a distributable app."""
    directory: AdminDirectory = (
        WorkspaceAdmins(store) if settings.distributed else FixedAdmins(settings.bot_admins)
    )
    return AdminService(store, directory, editable=settings.distributed, clock=clock)


def installs_for(
    settings: BotSettings, store: Store, admins: AdminService, *, clock: Callable[[], datetime]
) -> Installs | None:
    """Bolt's OAuth flow on the bot's own database, or None for a single workspace."""
    if not isinstance(settings, DistributedBotSettings):
        return None
    vault = settings.token_vault()
    assert vault is not None  # settings refuse a distributable app without ENCRYPTION_KEY
    installations = EncryptedInstallationStore(
        client_id=settings.slack_client_id,
        engine=store.engine,
        cipher=vault,
        on_installed=admins.installed,
    )
    oauth = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        scopes=list(SCOPES),
        installation_store=installations,
        state_store=oauth_state_store(store.engine),
        # Refreshed when a rotating token has this long left (Bolt, on each request).
        token_rotation_expiration_minutes=30,
    )
    return Installs(oauth, installations, WorkspaceService(store, clock=clock))


def _rotator(settings: DistributedBotSettings) -> AsyncTokenRotator:
    return AsyncTokenRotator(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.get_secret_value(),
        client=build_web_client(None, settings.slack_api_url),
    )
