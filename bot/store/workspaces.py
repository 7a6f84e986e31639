"""Removing a whole Slack workspace, when the app is uninstalled or its tokens revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from bot.core.audit import AuditEntry
from bot.store.audit import add_audit
from bot.store.connections import forget_what_was_read
from bot.store.sessions import UsesSessions, rowcount
from bot.store.tables import (
    AlertActionRow,
    AlertRow,
    ChannelConnectionRow,
    ConnectionRow,
    OutboxRow,
    SnoozeRow,
    WatchRow,
    WorkspaceAdminRow,
)
from bot.store.tenants import in_workspace


@dataclass(frozen=True, slots=True)
class WorkspaceRemoved:
    watches: int
    connections: int
    messages: int  # pending or parked messages that will now never be sent


class WorkspaceQueries(UsesSessions):
    async def workspace_admins(self, *, team: str) -> frozenset[str]:
        async with self._sessions.read() as session:
            users = await session.scalars(
                select(WorkspaceAdminRow.user_id).where(WorkspaceAdminRow.slack_team == team)
            )
            return frozenset(users)

    async def add_workspace_admin(
        self, team: str, user_id: str, *, by: str, now: datetime, audit: AuditEntry | None
    ) -> bool:
        """True if `user_id` is new among the workspace's admins."""
        async with self._sessions.write() as session:
            added = await session.execute(
                self._sessions.insert(WorkspaceAdminRow.__table__)
                .values(slack_team=team, user_id=user_id, added_by=by, added_at=now)
                .on_conflict_do_nothing(index_elements=["slack_team", "user_id"])
            )
            if audit is not None and rowcount(added):
                add_audit(session, audit)
            return bool(rowcount(added))

    async def remove_workspace_admin(self, team: str, user_id: str, *, audit: AuditEntry) -> bool:
        async with self._sessions.write() as session:
            removed = await session.execute(
                delete(WorkspaceAdminRow).where(
                    WorkspaceAdminRow.slack_team == team, WorkspaceAdminRow.user_id == user_id
                )
            )
            if rowcount(removed):
                add_audit(session, audit)
            return bool(rowcount(removed))

    async def remove_workspace(self, team: str, *, audit: AuditEntry) -> WorkspaceRemoved:
        """Everything of workspace `team` goes, in one transaction, except its audit trail
        (which records this). Another workspace's rows are never touched: every delete is
        scoped by the workspace's channel keys or its connections' destination keys."""
        async with self._sessions.write() as session:
            alerts = select(AlertRow.id).where(in_workspace(AlertRow.channel, team))
            pending = await session.execute(
                delete(OutboxRow).where(
                    in_workspace(OutboxRow.channel, team),
                    OutboxRow.state.in_(("pending", "parked")),
                )
            )
            await session.execute(delete(OutboxRow).where(in_workspace(OutboxRow.channel, team)))
            await session.execute(delete(AlertActionRow).where(AlertActionRow.alert_id.in_(alerts)))
            await session.execute(delete(AlertRow).where(in_workspace(AlertRow.channel, team)))
            await session.execute(delete(SnoozeRow).where(in_workspace(SnoozeRow.channel, team)))
            watches = await session.execute(
                delete(WatchRow).where(in_workspace(WatchRow.channel, team))
            )
            await session.execute(
                delete(ChannelConnectionRow).where(in_workspace(ChannelConnectionRow.channel, team))
            )
            connection_ids = list(
                await session.scalars(
                    select(ConnectionRow.id).where(ConnectionRow.slack_team == team)
                )
            )
            for connection_id in connection_ids:
                await forget_what_was_read(session, connection_id)
            await session.execute(delete(ConnectionRow).where(ConnectionRow.slack_team == team))
            await session.execute(
                delete(WorkspaceAdminRow).where(WorkspaceAdminRow.slack_team == team)
            )
            add_audit(session, audit)
            return WorkspaceRemoved(rowcount(watches), len(connection_ids), rowcount(pending))
