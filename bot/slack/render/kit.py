"""The building blocks every reply is made of, and the short answers. Pure.

Header text is plain_text, which Slack does not parse for mentions or links,
so a header may carry a name unescaped; every mrkdwn text carries it escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.slack.render.mrkdwn import escape, truncate

Block = dict[str, Any]
Reply = dict[str, Any]

BUSY_TEXT = "I'm too busy (or restarting) to answer right now; please try again in a minute."
UNKNOWN_BUTTON_TEXT = (
    "I don't know that button: it may be from an older version of backup-bot. "
    "Nothing was done. `/backups help` shows what I can do."
)
UNREADABLE_BUTTON_TEXT = (
    "I couldn't read that button press, so nothing was done. "
    "Run `/backups list` again for a fresh listing."
)
# A section holds 3000 characters; chunks stop short of it.
SECTION_BUDGET = 2900


def message(text: str) -> Reply:
    """A short answer: an error, a refusal, a hint. `text` is already mrkdwn."""
    return {"text": text, "blocks": [section(text)]}


def plain_message(text: str) -> Reply:
    """A short answer written for any surface (a command's error, say), escaped for mrkdwn."""
    return message(escape(text))


def header(text: str) -> Block:
    # Header text is plain_text, which Slack does not parse for mentions.
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, 150)}}


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 2000)}]}


def chunk(lines: Iterable[str], separator: str = "\n") -> list[str]:
    """Lines packed into section texts of at most SECTION_BUDGET characters."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(separator) + len(line) > SECTION_BUDGET:
            chunks.append(separator.join(current))
            current, size = [], 0
        size += len(line) + (len(separator) if current else 0)
        current.append(line)
    if current:
        chunks.append(separator.join(current))
    # A trailing blank line would only pad the section.
    return [text.strip("\n") or "-" for text in chunks]
