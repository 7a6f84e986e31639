"""Quoting outside text inside messages written for people. Pure.

Error messages and replies quote what someone typed, or a name from
Northflank, as an inline code span: `like this`. This module makes the span
safe to read on any surface: only printable characters, no backtick that
would end the span early, and a length limit so one pasted essay cannot
swamp the message. Escaping for a particular markup (Slack's mrkdwn) is that
surface's job, done on the whole message when it is shown.
"""

from __future__ import annotations


def quote(text: str, limit: int = 80) -> str:
    """`text` as an inline code span that nothing in it can end or break, at most `limit` long."""
    cleaned = "".join(ch for ch in text if ch.isprintable()).replace("`", "'")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return f"`{cleaned}`"
