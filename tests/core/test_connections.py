"""Destination keys and which connection a channel uses: pure, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.connections import (
    ENVIRONMENT,
    Connection,
    ConnectionNameError,
    chosen_connection,
    destination_key,
    shown_id,
    split_destination_key,
    valid_connection_name,
)

_AT = datetime(2026, 12, 1, tzinfo=UTC)


def _stored(*ids: int) -> tuple[Connection, ...]:
    return tuple(Connection(i, f"team-{i}", None, "U1", _AT) for i in ids)


def test_the_environment_keeps_northflank_ids_as_they_are() -> None:
    # The single-team path's rows must not change: its key is the id itself.
    assert destination_key("s3-backups", ENVIRONMENT) == "s3-backups"
    assert split_destination_key("s3-backups") == ("s3-backups", ENVIRONMENT)


@pytest.mark.parametrize("connection_id", [1, 7, 12])
def test_a_stored_connections_key_round_trips(connection_id: int) -> None:
    key = destination_key("s3-backups", connection_id)
    assert key != "s3-backups"
    assert split_destination_key(key) == ("s3-backups", connection_id)
    assert shown_id(key) == "s3-backups"


def test_the_same_destination_id_in_two_teams_gets_two_keys() -> None:
    assert destination_key("s3", 1) != destination_key("s3", 2)


def test_a_key_with_an_at_sign_but_no_number_is_read_as_an_id() -> None:
    assert split_destination_key("odd@name") == ("odd@name", ENVIRONMENT)


@pytest.mark.parametrize("text", ["Acme-Prod", " acme_prod ", "a", "x" * 32])
def test_connection_names_are_folded_and_trimmed(text: str) -> None:
    assert valid_connection_name(text) == text.strip().lower()


@pytest.mark.parametrize(
    "text", ["", "-lead", "has space", "x" * 33, "naïve", "a/b", "environment"]
)
def test_bad_connection_names_are_refused_with_the_right_form(text: str) -> None:
    with pytest.raises(ConnectionNameError) as caught:
        valid_connection_name(text)
    assert "`" in str(caught.value)


def test_the_channels_own_choice_wins() -> None:
    assert chosen_connection(2, _stored(1, 2), environment=True) == 2


def test_a_choice_of_a_removed_connection_falls_back() -> None:
    assert chosen_connection(3, _stored(1), environment=True) == ENVIRONMENT
    assert chosen_connection(3, _stored(1), environment=False) == 1
    assert chosen_connection(3, _stored(1, 2), environment=False) is None


def test_without_a_choice_the_only_connection_is_used() -> None:
    assert chosen_connection(None, _stored(4), environment=False) == 4


def test_adding_a_connection_does_not_move_channels_off_the_environment() -> None:
    # The environment's token counts as a connection: with it and one stored, there
    # are two, and a channel that never chose keeps the one it had.
    assert chosen_connection(None, _stored(4), environment=True) == ENVIRONMENT


def test_without_a_choice_several_connections_fall_back_to_the_environment() -> None:
    assert chosen_connection(None, _stored(1, 2), environment=True) == ENVIRONMENT


def test_several_connections_and_no_environment_token_need_a_choice() -> None:
    assert chosen_connection(None, _stored(1, 2), environment=False) is None


def test_choosing_the_environment_needs_an_environment_token() -> None:
    assert chosen_connection(ENVIRONMENT, _stored(1, 2), environment=True) == ENVIRONMENT
    assert chosen_connection(ENVIRONMENT, _stored(1, 2), environment=False) is None


def test_nothing_at_all_means_no_connection() -> None:
    assert chosen_connection(None, (), environment=False) is None
    assert chosen_connection(None, (), environment=True) == ENVIRONMENT
