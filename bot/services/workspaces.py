"""A Slack workspace leaves: the app was uninstalled there, or its bot token revoked."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.core.audit import AuditAction, AuditEntry
from bot.core.tenancy import channel_key
from bot.store import Store
from bot.store.workspaces import WorkspaceRemoved

log = logging.getLogger(__name__)

# Who the audit trail says did it: Slack told us, no person of ours.
SLACK = "slack"


class WorkspaceService:
    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def remove(self, team: str, *, why: str) -> WorkspaceRemoved:
        """Its connections, watches, alerts and unsent messages go; its audit trail records
        it, under the workspace's own key (no channel: the whole workspace left)."""
        removed = await self._store.remove_workspace(
            team,
            audit=AuditEntry(
                channel=channel_key(team, ""),
                user_id=SLACK,
                action=AuditAction.UNINSTALL,
                target=team,
                at=self._clock(),
                detail=f"{why}: its connections, watches and unsent messages were removed",
            ),
        )
        log.info(
            "a workspace was removed",
            extra={
                "team": team,
                "why": why,
                "watches": removed.watches,
                "connections": removed.connections,
                "unsent": removed.messages,
            },
        )
        return removed
