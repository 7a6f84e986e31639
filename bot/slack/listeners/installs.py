"""A workspace leaves: `app_uninstalled`, or `tokens_revoked` naming the bot's token.

Its installation (and so its bot token) is deleted from the installation store,
its client forgotten, and everything it had removed (bot/services/workspaces.py).
Slack sends these once per workspace; doing it twice is harmless.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.services.workspaces import WorkspaceService
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    service: WorkspaceService,
    workspaces: Workspaces,
    installations: AsyncInstallationStore,
) -> None:
    async def remove(body: dict[str, Any], why: str) -> None:
        team = workspaces.team(body)
        enterprise = body.get("enterprise_id")
        await installations.async_delete_all(
            enterprise_id=enterprise if isinstance(enterprise, str) else None, team_id=team
        )
        workspaces.forget(team)
        await service.remove(team, why=why)

    async def app_uninstalled(body: dict[str, Any]) -> None:
        await remove(body, "the app was uninstalled")

    async def tokens_revoked(body: dict[str, Any], event: dict[str, Any]) -> None:
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, dict) else None
        if not bots:
            return  # only people's tokens: the bot never uses them
        await remove(body, "the bot's token was revoked")

    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)
