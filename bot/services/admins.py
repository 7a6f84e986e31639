"""Who may change a channel's configuration and write to Northflank: the bot's admins.

One workspace: BOT_ADMINS, fixed by the operator. A distributable app: each
workspace has its own, and the operator knows none of them, so they start
with the person who installed the app, who names others with
`/backups admins add @someone`. Every service asks an `AdminDirectory` for
the admins of the channel it acts in, never a list of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.audit import AuditAction, AuditOutcome, Requester
from bot.core.tenancy import team_of
from bot.store import Store

# Who added the installer: the installation itself.
INSTALL = "install"


class AdminDirectory(Protocol):
    async def of(self, channel: str) -> frozenset[str]:
        """The admins for `channel`'s workspace (a channel key)."""
        ...


class FixedAdmins:
    """BOT_ADMINS: the same for every channel of the one workspace."""

    def __init__(self, admins: Collection[str]) -> None:
        self._admins = frozenset(admins)

    async def of(self, channel: str) -> frozenset[str]:
        return self._admins


class WorkspaceAdmins:
    """Each workspace's own, from the store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def of(self, channel: str) -> frozenset[str]:
        return await self._store.workspace_admins(team=team_of(channel))


def admin_directory(admins: AdminDirectory | Collection[str]) -> AdminDirectory:
    if isinstance(admins, FixedAdmins | WorkspaceAdmins):
        return admins
    if isinstance(admins, Collection):
        return FixedAdmins(admins)
    return admins


@dataclass(frozen=True, slots=True)
class AdminList:
    admins: frozenset[str]
    # False: BOT_ADMINS decides (one workspace), and only the operator changes it.
    editable: bool


@dataclass(frozen=True, slots=True)
class AdminChanged:
    user_id: str
    added: bool  # False: removed
    changed: bool  # False: they already were (or were not) one


@dataclass(frozen=True, slots=True)
class AdminRefused:
    """Not an admin, or (one workspace) admins are BOT_ADMINS' to set; nothing changed."""

    admins: frozenset[str]
    editable: bool
    last: bool = False  # refused because it would leave the workspace with no admin


AdminOutcome = AdminList | AdminChanged | AdminRefused


class AdminService:
    def __init__(
        self,
        store: Store,
        directory: AdminDirectory,
        *,
        editable: bool,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self.directory = directory
        self._editable = editable
        self._clock = clock

    async def show(self, who: Requester) -> AdminList:
        return AdminList(await self.directory.of(who.channel_id), self._editable)

    async def installed(self, team: str, user_id: str) -> None:
        """The installer of a workspace is its first admin."""
        await self._store.add_workspace_admin(
            team, user_id, by=INSTALL, now=self._clock(), audit=None
        )

    async def change(self, user_id: str, who: Requester, *, add: bool) -> AdminOutcome:
        admins = await self.directory.of(who.channel_id)
        action = AuditAction.ADMIN_ADD if add else AuditAction.ADMIN_REMOVE
        now = self._clock()
        if not self._editable or who.user_id not in admins:
            await self._store.record_audit(
                who.audit(action, user_id, now, outcome=AuditOutcome.REFUSED)
            )
            return AdminRefused(admins, self._editable)
        team = team_of(who.channel_id)
        if add:
            changed = await self._store.add_workspace_admin(
                team, user_id, by=who.user_id, now=now, audit=who.audit(action, user_id, now)
            )
            return AdminChanged(user_id, added=True, changed=changed)
        if admins == {user_id}:
            return AdminRefused(admins, self._editable, last=True)
        changed = await self._store.remove_workspace_admin(
            team, user_id, audit=who.audit(action, user_id, now)
        )
        return AdminChanged(user_id, added=False, changed=changed)
