"""`python -m bot keys generate` and `keys rotate`, as real processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Store, upgrade
from bot.store.encryption import TokenVault, generate_key
from tests.processes import clean_env, run_bot
from tests.store.examples import T0

TOKEN = "nf-stored-token-for-rotation-0123456789"


def test_generate_prints_a_new_key_with_no_configuration_at_all(tmp_path: Path) -> None:
    first = run_bot("keys", "generate", env=clean_env(), cwd=tmp_path)
    second = run_bot("keys", "generate", env=clean_env(), cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert TokenVault.from_keys(key).key_count == 1  # a valid Fernet key
    assert second.stdout.strip() != key
    assert "ENCRYPTION_KEY" in first.stderr


async def _store_one_token(database_url: str, key: str) -> int:
    await upgrade(database_url)
    store = Store.connect(database_url, vault=TokenVault.from_keys(key))
    try:
        connection = await store.add_connection(
            "acme", TOKEN, northflank_team_id=None, created_by="U1", now=T0
        )
        return connection.id
    finally:
        await store.close()


async def _read_token(database_url: str, key: str, connection_id: int) -> str | None:
    store = Store.connect(database_url, vault=TokenVault.from_keys(key))
    try:
        return await store.connection_token(connection_id)
    finally:
        await store.close()


def test_rotate_re_encrypts_with_the_newest_key(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/bot.db"
    old, new = generate_key(), generate_key()
    connection_id = asyncio.run(_store_one_token(database_url, old))
    env = clean_env(DATABASE_URL=database_url, ENCRYPTION_KEY=f"{new},{old}")
    result = run_bot("keys", "rotate", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "re-encrypted 1 stored Northflank token with the newest key" in result.stdout
    # The old key may now go: the new one alone reads the token.
    assert asyncio.run(_read_token(database_url, new, connection_id)) == TOKEN


def test_rotate_without_the_old_key_changes_nothing_and_says_why(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/bot.db"
    old = generate_key()
    connection_id = asyncio.run(_store_one_token(database_url, old))
    wrong = generate_key()
    result = run_bot(
        "keys",
        "rotate",
        env=clean_env(DATABASE_URL=database_url, ENCRYPTION_KEY=wrong),
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "ENCRYPTION_KEY" in result.stderr and "Traceback" not in result.stderr
    assert wrong not in result.stderr and TOKEN not in result.stderr
    assert asyncio.run(_read_token(database_url, old, connection_id)) == TOKEN


def test_rotate_needs_the_key_and_a_bad_key_is_named_not_echoed(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path}/bot.db"
    missing = run_bot("keys", "rotate", env=clean_env(DATABASE_URL=database_url), cwd=tmp_path)
    assert missing.returncode == 2 and "ENCRYPTION_KEY is not set" in missing.stderr
    bad_key = "not-a-fernet-key-at-all-but-long-enough"
    bad = run_bot(
        "keys",
        "rotate",
        env=clean_env(DATABASE_URL=database_url, ENCRYPTION_KEY=f"{generate_key()},{bad_key}"),
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "ENCRYPTION_KEY" in bad.stderr and "2nd key" in bad.stderr
    assert bad_key not in bad.stderr
