"""Each workspace's installation, on the bot's own database, its tokens encrypted.

slack_sdk's AsyncSQLAlchemyInstallationStore keeps bot tokens in plain-text
columns; a distributable app holds a credential to every workspace that
installed it, so this store wraps it and encrypts every token on the way in
(with ENCRYPTION_KEY's vault) and decrypts it on the way out. The tables come
from the bot's Alembic migrations (0007), never from the library's
create_all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

_BOT_SECRETS = ("bot_token", "bot_refresh_token")
_INSTALLATION_SECRETS = (*_BOT_SECRETS, "user_token", "user_refresh_token")


class Cipher(Protocol):
    """What encrypts tokens at rest (bot.store.encryption.TokenVault)."""

    def encrypt(self, plain: str) -> str: ...

    def decrypt(self, token: str) -> str: ...


Installed = Callable[[str, str], Awaitable[None]]


class EncryptedInstallationStore(AsyncInstallationStore):
    def __init__(
        self,
        *,
        client_id: str,
        engine: AsyncEngine,
        cipher: Cipher,
        on_installed: Installed | None = None,
    ) -> None:
        self._inner = AsyncSQLAlchemyInstallationStore(client_id=client_id, engine=engine)
        self._cipher = cipher
        # Told (team id, installer's user id) after each install: its first admin.
        self._on_installed = on_installed

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        # A first install names its installer an admin; a token rotation (Bolt saves the
        # installation again) or a reinstall must not bring back an admin removed since.
        first = (
            await self._inner.async_find_bot(
                enterprise_id=installation.enterprise_id, team_id=installation.team_id
            )
            is None
        )
        await self._inner.async_save(_sealed(installation, self._cipher.encrypt))
        if first and self._on_installed is not None and installation.team_id:
            await self._on_installed(installation.team_id, installation.user_id)

    async def async_save_bot(self, bot: Bot) -> None:
        await self._inner.async_save_bot(_sealed(bot, self._cipher.encrypt))

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self._inner.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=is_enterprise_install,
        )
        return _sealed(found, self._cipher.decrypt) if found is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self._inner.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return _sealed(found, self._cipher.decrypt) if found is not None else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self._inner.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._inner.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)


def oauth_state_store(
    engine: AsyncEngine, *, expiration_seconds: int = 600
) -> AsyncSQLAlchemyOAuthStateStore:
    """The OAuth flow's one-time states, on the same database (its table: migration 0007)."""
    return AsyncSQLAlchemyOAuthStateStore(expiration_seconds=expiration_seconds, engine=engine)


Stored = TypeVar("Stored", Bot, Installation)


def _sealed(found: Stored, convert: Callable[[str], str]) -> Stored:
    """A copy of `found` with every token passed through `convert` (encrypt or decrypt)."""
    names = _INSTALLATION_SECRETS if isinstance(found, Installation) else _BOT_SECRETS
    copy = type(found)(**found.to_dict_for_copying())
    for name in names:
        value = getattr(copy, name, None)
        if isinstance(value, str) and value:
            setattr(copy, name, convert(value))
    return copy
