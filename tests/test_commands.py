"""Slash-command text: every form, and every way it can be wrong."""

from __future__ import annotations

import pytest

from bot.commands import (
    CommandError,
    DestinationsCommand,
    HelpCommand,
    ListCommand,
    parse,
)
from bot.listing import DEFAULT_LIMIT, BackupFilter


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "?", "--help"])
def test_help(text: str) -> None:
    assert parse(text) == HelpCommand()


def test_destinations() -> None:
    assert parse("destinations") == DestinationsCommand()


def test_list_with_everything() -> None:
    command = parse("list dest-1 status=failed,Aborted addon=orders-db limit=20")
    assert command == ListCommand(
        "dest-1", BackupFilter(frozenset({"failed", "aborted"}), "orders-db"), 20
    )


def test_list_defaults_and_no_destination() -> None:
    assert parse("list") == ListCommand(None, BackupFilter(), DEFAULT_LIMIT)


def test_repeated_status_options_add_up() -> None:
    command = parse("list d status=failed status=aborted")
    assert isinstance(command, ListCommand)
    assert command.backup_filter.statuses == {"failed", "aborted"}


def test_quoted_names_and_curly_quotes() -> None:
    command = parse("list “Nightly backups” addon='orders db'")
    assert isinstance(command, ListCommand)
    assert command.destination == "Nightly backups"
    assert command.backup_filter.addon == "orders db"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("frobnicate", "I don't know the command `frobnicate`"),
        ("destinations extra", "takes no arguments"),
        ("list a b", "takes one destination"),
        ("list d colour=red", "has no option `colour`"),
        ("list d status=", "needs one or more of"),
        ("list d status=faild", "I don't know the status `faild`"),
        ("list d limit=0", "from 1 to 20"),
        ("list d limit=21", "from 1 to 20"),
        ("list d limit=ten", "from 1 to 20"),
        ("list d limit=-3", "from 1 to 20"),
        ('list "unclosed', "quote in that command is not closed"),
        ("list d addon=", "addon name or id"),
        ("list " + "x" * 101, "doesn't look like a destination"),
        ("x" * 1001, "I read at most 1,000"),
    ],
)
def test_malformed_text_gets_a_specific_answer(text: str, fragment: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    assert fragment in str(caught.value)


def test_echoed_text_cannot_inject_mentions_or_break_code_spans() -> None:
    with pytest.raises(CommandError) as caught:
        parse("list d <!channel>`x=1")
    message = str(caught.value)
    assert "<!channel>" not in message
    assert "&lt;!channel&gt;'x" in message
