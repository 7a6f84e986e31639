"""Northflank connections in the store: encrypted at rest, chosen per channel, removed whole."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bot.core.audit import AuditAction, AuditEntry
from bot.core.backups import Destination
from bot.core.connections import destination_key
from bot.core.messages import DisconnectedNote, note_from_json
from bot.core.tenancy import SINGLE
from bot.store import Store, engine_for, upgrade
from bot.store.connections import ConnectionNameTakenError
from bot.store.encryption import EncryptionKeyError, TokenVault, generate_key
from tests.store.examples import PRIMARY, T0, backup, watching

TOKEN = "nf-secret-token-of-acme-0123456789"


def _audit(action: AuditAction, target: str, channel: str = "C-ops") -> AuditEntry:
    return AuditEntry(channel=channel, user_id="U-admin", action=action, target=target, at=T0)


@pytest.fixture
def key() -> str:
    return generate_key()


@pytest.fixture
async def vaulted(database_url: str, key: str) -> AsyncIterator[Store]:
    await upgrade(database_url)
    opened = Store.connect(database_url, vault=TokenVault.from_keys(key))
    try:
        yield opened
    finally:
        await opened.close()


async def _connect(store: Store, name: str = "acme", token: str = TOKEN) -> int:
    connection = await store.add_connection(
        name, token, northflank_team_id=None, created_by="U-admin", now=T0
    )
    return connection.id


async def test_a_token_goes_in_encrypted_and_comes_back_in_clear(
    vaulted: Store, database_url: str
) -> None:
    connection_id = await _connect(vaulted)
    assert await vaulted.connection_token(connection_id) == TOKEN
    assert [c.name for c in await vaulted.connections(team=SINGLE)] == ["acme"]
    engine = engine_for(database_url)
    try:
        async with engine.connect() as connection:  # what rests in the table
            stored = await connection.scalar(text("SELECT token_encrypted FROM connections"))
    finally:
        await engine.dispose()
    assert isinstance(stored, str) and TOKEN not in stored


async def test_two_connections_may_not_share_a_name(vaulted: Store) -> None:
    await _connect(vaulted)
    with pytest.raises(ConnectionNameTakenError):
        await _connect(vaulted, token="another-token")
    assert len(await vaulted.connections(team=SINGLE)) == 1


async def test_without_a_key_nothing_is_stored_and_the_error_names_the_variable(
    store: Store,
) -> None:
    with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY"):
        await _connect(store)
    assert await store.connections(team=SINGLE) == ()


async def test_start_up_refuses_a_wrong_key_and_a_missing_one(
    vaulted: Store, database_url: str
) -> None:
    await _connect(vaulted)
    assert await vaulted.check_stored_tokens() == 1
    for vault in (TokenVault.from_keys(generate_key()), None):
        other = Store.connect(database_url, vault=vault)
        try:
            with pytest.raises(EncryptionKeyError, match="ENCRYPTION_KEY"):
                await other.check_stored_tokens()
        finally:
            await other.close()
    # Nothing was lost or overwritten: the right key still reads the token.
    assert await vaulted.connection_token((await vaulted.connections(team=SINGLE))[0].id) == TOKEN


async def test_rotation_re_encrypts_with_the_newest_key_and_keeps_the_token(
    vaulted: Store, database_url: str, key: str
) -> None:
    connection_id = await _connect(vaulted)
    newest = generate_key()
    rotating = Store.connect(database_url, vault=TokenVault.from_keys(f"{newest},{key}"))
    try:
        assert await rotating.rotate_stored_tokens() == 1
    finally:
        await rotating.close()
    only_new = Store.connect(database_url, vault=TokenVault.from_keys(newest))
    try:
        assert await only_new.connection_token(connection_id) == TOKEN
    finally:
        await only_new.close()


async def test_a_channel_chooses_its_connection_and_may_change_it(vaulted: Store) -> None:
    first, second = await _connect(vaulted, "one"), await _connect(vaulted, "two", "t2")
    assert await vaulted.channel_connection("C-ops") is None
    for chosen in (first, second):
        await vaulted.use_connection(
            "C-ops", chosen, who="U-admin", now=T0, audit=_audit(AuditAction.USE, "x")
        )
        assert await vaulted.channel_connection("C-ops") == chosen
    assert (await vaulted.channels_by_connection(team=SINGLE))[second] == ("C-ops",)


async def test_disconnecting_removes_its_watches_and_data_and_tells_its_channels(
    vaulted: Store,
) -> None:
    gone, kept = await _connect(vaulted, "gone"), await _connect(vaulted, "kept", "t2")
    # The same Northflank id through both connections, and through the environment.
    for connection_id in (gone, kept, 0):
        key = destination_key(PRIMARY.id, connection_id)
        await watching(vaulted, "C-ops", Destination(key, f"Primary {connection_id}"))
        await vaulted.save_backups(key, [backup("b1")], T0)
    await vaulted.use_connection(
        "C-other", gone, who="U-admin", now=T0, audit=_audit(AuditAction.USE, "gone", "C-other")
    )
    done = await vaulted.remove_connection(
        gone, who="U-admin", now=T0, audit=_audit(AuditAction.DISCONNECT, "gone")
    )
    assert done is not None
    assert done.watches == 1 and done.channels == ("C-ops", "C-other")
    left = {w.destination_id for w in await vaulted.channel_watches("C-ops")}
    assert left == {PRIMARY.id, destination_key(PRIMARY.id, kept)}
    assert await vaulted.backups_created_since(destination_key(PRIMARY.id, gone), T0) == []
    assert len(await vaulted.backups_created_since(destination_key(PRIMARY.id, kept), T0)) == 1
    assert await vaulted.channel_connection("C-other") is None
    assert [c.name for c in await vaulted.connections(team=SINGLE)] == ["kept"]
    notes = {
        item.channel: note_from_json(item.payload or {}) for item in await vaulted.outbox_items()
    }
    assert notes["C-ops"] == DisconnectedNote("gone", ("Primary " + str(gone),), "U-admin")
    assert notes["C-other"] == DisconnectedNote("gone", (), "U-admin")
    assert [e.action for e in await vaulted.audit_entries("C-ops")] == [AuditAction.DISCONNECT]


async def test_removing_a_connection_that_is_gone_changes_nothing(vaulted: Store) -> None:
    assert (
        await vaulted.remove_connection(
            99, who="U-admin", now=T0, audit=_audit(AuditAction.DISCONNECT, "x")
        )
        is None
    )
