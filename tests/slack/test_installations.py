"""Each workspace's installation on the bot's own database, its tokens encrypted at rest.

The tables come from the migrations (0007), never from slack_sdk's create_all:
these tests run the SDK's own queries against them, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.runtime.settings import ConfigurationError, DistributedBotSettings, load
from bot.slack.installations import EncryptedInstallationStore, oauth_state_store
from bot.store import engine_for, upgrade
from bot.store.encryption import EncryptionKeyError, TokenVault, generate_key
from tests.databases import raw_contents

CLIENT_ID = "111.222"
ACME, GLOBEX = "T0ACME0001", "T0GLOBEX01"
# A rotating token is long already; its ciphertext is longer than the SDK's VARCHAR(200).
ROTATING = "xoxe.xoxb-1-" + "R" * 170


def _tokens(team: str) -> dict[str, str]:
    return {
        "bot_token": f"xoxb-{team}-bot-secret",
        "bot_refresh_token": f"xoxe-1-{team}-bot-refresh-secret",
        "user_token": f"xoxp-{team}-user-secret",
        "user_refresh_token": f"xoxe-1-{team}-user-refresh-secret",
    }


def _installation(team: str, **overrides: object) -> Installation:
    fields: dict[str, object] = {
        "app_id": "A0BACKUPS1",
        "team_id": team,
        "team_name": f"{team} Inc",
        "bot_id": f"B0{team}",
        "bot_user_id": f"U0BOT{team}",
        "bot_scopes": "chat:write,commands",
        "bot_token_expires_at": int(time.time()) + 12 * 3600,
        "user_id": f"U0INSTALL{team}",
        "user_scopes": "identify",
        "token_type": "bot",
        **_tokens(team),
        **overrides,
    }
    return Installation(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade(database_url)
    opened = engine_for(database_url)
    try:
        yield opened
    finally:
        await opened.dispose()


@pytest.fixture
def vault() -> TokenVault:
    return TokenVault.from_keys(generate_key())


@pytest.fixture
def installations(engine: AsyncEngine, vault: TokenVault) -> EncryptedInstallationStore:
    return EncryptedInstallationStore(client_id=CLIENT_ID, engine=engine, cipher=vault)


async def test_found_tokens_come_back_in_clear_with_the_rest_of_the_installation(
    installations: EncryptedInstallationStore,
) -> None:
    saved = _installation(ACME)
    await installations.async_save(saved)
    bot = await installations.async_find_bot(enterprise_id=None, team_id=ACME)
    assert bot is not None
    assert (bot.bot_token, bot.bot_refresh_token) == (saved.bot_token, saved.bot_refresh_token)
    assert bot.bot_user_id == f"U0BOT{ACME}"
    assert bot.bot_token_expires_at == saved.bot_token_expires_at
    found = await installations.async_find_installation(enterprise_id=None, team_id=ACME)
    assert found is not None
    assert {name: getattr(found, name) for name in _tokens(ACME)} == _tokens(ACME)
    assert found.user_id == f"U0INSTALL{ACME}"
    assert found.bot_token_expires_at == saved.bot_token_expires_at
    # The caller's object is not encrypted in place.
    assert saved.bot_token == _tokens(ACME)["bot_token"]


async def test_no_token_rests_in_clear(
    installations: EncryptedInstallationStore, database_url: str
) -> None:
    await installations.async_save(_installation(ACME))
    await installations.async_save(_installation(GLOBEX, bot_refresh_token=ROTATING))
    contents = raw_contents(database_url)
    assert ACME.encode() in contents  # the dump is real: the installation's team is in it
    for token in (*_tokens(ACME).values(), *_tokens(GLOBEX).values(), ROTATING):
        assert token.encode() not in contents
    found = await installations.async_find_bot(enterprise_id=None, team_id=GLOBEX)
    assert found is not None and found.bot_refresh_token == ROTATING


async def test_a_saved_bot_replaces_the_workspaces_token(
    installations: EncryptedInstallationStore, database_url: str
) -> None:
    await installations.async_save(_installation(ACME))
    bot = await installations.async_find_bot(enterprise_id=None, team_id=ACME)
    assert bot is not None
    bot.bot_token = "xoxb-acme-rotated-secret"
    await installations.async_save_bot(bot)
    again = await installations.async_find_bot(enterprise_id=None, team_id=ACME)
    assert again is not None and again.bot_token == "xoxb-acme-rotated-secret"
    assert b"xoxb-acme-rotated-secret" not in raw_contents(database_url)


async def test_two_workspaces_are_kept_apart(installations: EncryptedInstallationStore) -> None:
    await installations.async_save(_installation(ACME))
    await installations.async_save(_installation(GLOBEX))
    for team in (ACME, GLOBEX):
        bot = await installations.async_find_bot(enterprise_id=None, team_id=team)
        found = await installations.async_find_installation(enterprise_id=None, team_id=team)
        assert bot is not None and found is not None
        assert (bot.team_id, bot.bot_token) == (team, _tokens(team)["bot_token"])
        assert (found.team_id, found.user_token) == (team, _tokens(team)["user_token"])
    assert await installations.async_find_bot(enterprise_id=None, team_id="T0NOBODY1") is None


async def test_deleting_one_workspace_leaves_the_other(
    installations: EncryptedInstallationStore,
) -> None:
    await installations.async_save(_installation(ACME))
    await installations.async_save(_installation(GLOBEX))

    await installations.async_delete_bot(enterprise_id=None, team_id=ACME)
    assert await installations.async_find_bot(enterprise_id=None, team_id=ACME) is None
    assert await installations.async_find_installation(enterprise_id=None, team_id=ACME)

    await installations.async_delete_installation(enterprise_id=None, team_id=ACME)
    assert await installations.async_find_installation(enterprise_id=None, team_id=ACME) is None

    await installations.async_save(_installation(ACME))
    await installations.async_delete_all(enterprise_id=None, team_id=ACME)
    assert await installations.async_find_bot(enterprise_id=None, team_id=ACME) is None
    assert await installations.async_find_installation(enterprise_id=None, team_id=ACME) is None

    bot = await installations.async_find_bot(enterprise_id=None, team_id=GLOBEX)
    found = await installations.async_find_installation(enterprise_id=None, team_id=GLOBEX)
    assert bot is not None and bot.bot_token == _tokens(GLOBEX)["bot_token"]
    assert found is not None and found.user_token == _tokens(GLOBEX)["user_token"]


async def test_another_key_cannot_read_the_tokens(
    installations: EncryptedInstallationStore, engine: AsyncEngine
) -> None:
    await installations.async_save(_installation(ACME))
    stranger = EncryptedInstallationStore(
        client_id=CLIENT_ID, engine=engine, cipher=TokenVault.from_keys(generate_key())
    )
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY"):
        await stranger.async_find_bot(enterprise_id=None, team_id=ACME)
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY"):
        await stranger.async_find_installation(enterprise_id=None, team_id=ACME)


async def test_an_old_key_kept_second_still_reads_them(
    engine: AsyncEngine, vault: TokenVault
) -> None:
    old = generate_key()
    before = EncryptedInstallationStore(
        client_id=CLIENT_ID, engine=engine, cipher=TokenVault.from_keys(old)
    )
    await before.async_save(_installation(ACME))
    rotating = EncryptedInstallationStore(
        client_id=CLIENT_ID,
        engine=engine,
        cipher=TokenVault.from_keys(f"{generate_key()},{old}"),
    )
    bot = await rotating.async_find_bot(enterprise_id=None, team_id=ACME)
    assert bot is not None and bot.bot_token == _tokens(ACME)["bot_token"]


def test_a_distributable_app_without_a_key_does_not_start(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The store takes a cipher, always: the settings are what refuse to go without one.
    for name in ("ENCRYPTION_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="ENCRYPTION_KEY"):
        load(
            DistributedBotSettings,
            slack_client_id=CLIENT_ID,
            slack_client_secret="shh",
            slack_signing_secret="shh",
            northflank_api_token="nf",
        )


async def test_an_oauth_state_is_consumed_once(engine: AsyncEngine) -> None:
    states = oauth_state_store(engine)
    first, second = await states.async_issue(), await states.async_issue()
    assert first != second
    assert await states.async_consume(first)
    assert not await states.async_consume(first)
    assert await states.async_consume(second)
    assert not await states.async_consume("never-issued")


async def test_an_expired_oauth_state_is_refused(engine: AsyncEngine) -> None:
    states = oauth_state_store(engine, expiration_seconds=-1)
    assert not await states.async_consume(await states.async_issue())
