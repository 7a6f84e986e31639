"""Reading strings out of parsed JSON: every one, or the texts a Slack message shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def texts_in(node: Any) -> Iterator[str]:
    """Every "text" string in a Block Kit payload, however deeply nested."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from texts_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from texts_in(item)


def shown_in_slack(message: str) -> str:
    """A message written for any surface (a command's error, say), as Slack users see it:
    the Slack adapter escapes it for mrkdwn (bot.slack.render.kit.plain_message)."""
    from bot.slack.render.kit import plain_message

    text: str = plain_message(message)["text"]
    return text
