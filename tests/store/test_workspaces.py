"""Workspaces in one database: scoped reads, and removing one leaves the others whole."""

from __future__ import annotations

import pytest

from bot.core.audit import AuditAction, AuditEntry
from bot.core.backups import Destination
from bot.core.connections import destination_key
from bot.core.tenancy import SINGLE, channel_key
from bot.core.watches import Event
from bot.store import Store, upgrade
from bot.store.encryption import TokenVault, generate_key
from tests.store.examples import PRIMARY, T0, alert, backup, digest, watching

ACME, GLOBEX = "T0ACME", "T0GLOBEX"
# The same channel id in both workspaces: only the workspace tells them apart.
OPS = "C0OPS"


@pytest.fixture
async def vaulted(database_url: str) -> Store:
    await upgrade(database_url)
    return Store.connect(database_url, vault=TokenVault.from_keys(generate_key()))


async def _populate(store: Store, team: str) -> str:
    """A connection, a watch through it, a backup read, an alert and its pending post."""
    connection = await store.add_connection(
        "prod", f"nf-token-of-{team}", northflank_team_id=None, created_by="U1", now=T0, team=team
    )
    key = destination_key(PRIMARY.id, connection.id)
    channel = channel_key(team, OPS)
    watch = await watching(store, channel, Destination(key, f"Primary of {team}"))
    await store.save_backups(key, [backup("b1")], T0)
    await store.record_alerts([digest(watch, alert(Event.FAILED, f"b-{team}"))], T0)
    return key


async def test_reads_across_channels_see_one_workspace_only(vaulted: Store) -> None:
    try:
        for team in (ACME, GLOBEX):
            await _populate(vaulted, team)
        for team in (ACME, GLOBEX):
            watches = await vaulted.all_watches(team=team)
            assert [w.destination_name for w in watches] == [f"Primary of {team}"]
            problems, total = await vaulted.open_problems(team=team, limit=10)
            assert total == 1 and problems[0].channel == channel_key(team, OPS)
            assert [c.name for c in await vaulted.connections(team=team)] == ["prod"]
            counts = await vaulted.open_problem_counts(team=team)
            assert set(counts) == {(channel_key(team, OPS), watches[0].destination_id)}
        # A single-workspace deployment's scope is everything it has.
        assert len(await vaulted.all_watches(team=SINGLE)) == 2
    finally:
        await vaulted.close()


async def test_removing_a_workspace_takes_all_of_it_and_nothing_of_another(
    vaulted: Store,
) -> None:
    try:
        acme_key = await _populate(vaulted, ACME)
        globex_key = await _populate(vaulted, GLOBEX)
        removed = await vaulted.remove_workspace(
            ACME,
            audit=AuditEntry(
                channel=channel_key(ACME, ""),
                user_id="slack",
                action=AuditAction.UNINSTALL,
                target=ACME,
                at=T0,
            ),
        )
        assert (removed.watches, removed.connections, removed.messages) == (1, 1, 1)
        assert await vaulted.all_watches(team=ACME) == []
        assert await vaulted.connections(team=ACME) == ()
        assert await vaulted.open_problems(team=ACME, limit=10) == ([], 0)
        assert await vaulted.backups_created_since(acme_key, T0) == []
        # Globex is exactly as it was.
        assert len(await vaulted.all_watches(team=GLOBEX)) == 1
        assert len(await vaulted.backups_created_since(globex_key, T0)) == 1
        assert (await vaulted.open_problems(team=GLOBEX, limit=10))[1] == 1
        assert [i.channel for i in await vaulted.outbox_items()] == [channel_key(GLOBEX, OPS)]
        entries = await vaulted.audit_entries(channel_key(ACME, ""))
        assert [e.action for e in entries] == [AuditAction.UNINSTALL]
    finally:
        await vaulted.close()
