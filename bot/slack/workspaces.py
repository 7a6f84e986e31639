"""Which Slack workspace a request comes from, and the client that speaks for each one.

One workspace (SLACK_BOT_TOKEN): every channel key is the channel id and one
client posts everything. A distributable app (SLACK_CLIENT_ID/SECRET): a
request's channel key carries the team id Slack signed it with
(bot/core/tenancy.py), and each workspace's posts go out with that
workspace's own bot token, read from the installation store and refreshed
before it expires when token rotation is on. This is the one place a
request's workspace is decided.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.audit import Requester
from bot.core.tenancy import SINGLE, channel_key

log = logging.getLogger(__name__)

# The "workspace" of a payload that names none: no installation, so nothing is posted.
NO_TEAM = "T-none"
# Refresh a rotating token this long before it expires (Slack's tokens live 12 hours).
ROTATE_BEFORE_MINUTES = 30

ClientBuilder = Callable[[str], AsyncWebClient]


class Workspaces:
    def __init__(
        self,
        client: AsyncWebClient | None,
        *,
        installations: AsyncInstallationStore | None = None,
        client_for_token: ClientBuilder | None = None,
        rotator: AsyncTokenRotator | None = None,
    ) -> None:
        if client is None and (installations is None or client_for_token is None):
            raise ValueError("either one client, or an installation store and a client builder")
        self._client = client
        self._installations = installations
        self._client_for_token = client_for_token
        self._rotator = rotator
        self._clients: dict[str, tuple[str, AsyncWebClient]] = {}
        self._lock = asyncio.Lock()

    @property
    def multi(self) -> bool:
        return self._client is None

    def team(self, body: dict[str, Any]) -> str:
        """The workspace a payload was signed for: SINGLE with one workspace."""
        if not self.multi:
            return SINGLE
        # A signed payload always names its team; one that does not is kept apart
        # from every workspace rather than guessed into one.
        return team_in(body) or NO_TEAM

    def requester(self, body: dict[str, Any], user_id: str, channel: str) -> Requester:
        """Who asked, and the channel key of where they asked."""
        return Requester(user_id=user_id, channel_id=channel_key(self.team(body), channel))

    async def client(self, team: str) -> AsyncWebClient | None:
        """The client for workspace `team`; None when the app is not installed there."""
        if self._client is not None:
            return self._client
        assert self._installations is not None and self._client_for_token is not None
        async with self._lock:
            bot = await self._installations.async_find_bot(enterprise_id=None, team_id=team)
            if bot is None:
                self._clients.pop(team, None)
                return None
            if self._rotator is not None and bot.bot_refresh_token:
                rotated = await self._rotator.perform_bot_token_rotation(
                    bot=bot, minutes_before_expiration=ROTATE_BEFORE_MINUTES
                )
                if rotated is not None:
                    await self._installations.async_save_bot(rotated)
                    log.info("a workspace's bot token was rotated", extra={"team": team})
                    bot = rotated
            token = bot.bot_token or ""
            cached = self._clients.get(team)
            if cached is not None and cached[0] == token:
                return cached[1]
            built = self._client_for_token(token)
            self._clients[team] = (token, built)
            return built

    def forget(self, team: str) -> None:
        """The app was uninstalled from `team`."""
        self._clients.pop(team, None)


def team_in(body: dict[str, Any]) -> str | None:
    """The team id of a slash command, an interaction or an event callback."""
    for found in (
        body.get("team_id"),
        _inner(body.get("team"), "id"),
        _inner(body.get("user"), "team_id"),
        _inner(body.get("view"), "team_id"),
    ):
        if isinstance(found, str) and found:
            return found
    return None


def _inner(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None
