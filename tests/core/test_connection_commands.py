"""`connect`, `connections`, `use NAME` and `disconnect NAME`: every form, every mistake."""

from __future__ import annotations

import pytest

from bot.core.command_parser import parse
from bot.core.commands import (
    DISCONNECT_USAGE,
    USE_USAGE,
    VERBS,
    CommandError,
    ConnectCommand,
    ConnectionsCommand,
    DisconnectCommand,
    UseCommand,
)


def test_each_connection_command_parses() -> None:
    assert parse("connect") == ConnectCommand()
    assert parse("CONNECTIONS") == ConnectionsCommand()
    assert parse("use Acme-Prod") == UseCommand("acme-prod")
    assert parse("use environment") == UseCommand("environment")
    assert parse("disconnect acme_prod") == DisconnectCommand("acme_prod")


def test_the_connection_verbs_are_listed_for_people() -> None:
    assert {"connect", "connections", "use", "disconnect"} <= set(VERBS)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("connect acme", "takes no arguments; the form it opens asks for the name and the token."),
        ("connections all", "`/backups connections` takes no arguments."),
        ("use", f"Usage: `{USE_USAGE}`"),
        ("use a b", "takes one connection name"),
        ("disconnect", f"Usage: `{DISCONNECT_USAGE}`"),
        ("disconnect 'bad name'", "not `bad name`"),
        ("use -x", "1 to 32 letters"),
    ],
)
def test_mistakes_say_what_is_wrong_and_show_the_form(text: str, says: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert says in str(caught.value)
