"""Channel keys: the workspace a row belongs to. Pure, no I/O."""

from __future__ import annotations

import pytest

from bot.core.tenancy import (
    SINGLE,
    channel_key,
    slack_channel,
    split_channel_key,
    team_of,
    team_prefix,
)


def test_a_single_workspace_keeps_channel_ids_as_they_are() -> None:
    assert channel_key(SINGLE, "C0OPS") == "C0OPS"
    assert split_channel_key("C0OPS") == (SINGLE, "C0OPS")
    assert team_prefix(SINGLE) == ""


@pytest.mark.parametrize("team", ["T0ACME", "T0GLOBEX", "E0GRID"])
def test_a_workspaces_key_round_trips(team: str) -> None:
    key = channel_key(team, "C0OPS")
    assert team_of(key) == team and slack_channel(key) == "C0OPS"
    assert key.startswith(team_prefix(team))


def test_the_same_channel_id_in_two_workspaces_gets_two_keys() -> None:
    assert channel_key("T0ACME", "C0OPS") != channel_key("T0GLOBEX", "C0OPS")
    # One workspace's prefix is never another's, even when one team id starts the other.
    assert not channel_key("T0ACME2", "C0OPS").startswith(team_prefix("T0ACME"))


def test_a_workspace_key_without_a_channel_names_the_workspace_itself() -> None:
    # The audit entry of an uninstall is the workspace's, not a channel's.
    assert split_channel_key(channel_key("T0ACME", "")) == ("T0ACME", "")
