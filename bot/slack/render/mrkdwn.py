"""Making outside text safe and readable inside Slack mrkdwn. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core import humanize
from bot.core.quoting import quote
from bot.core.users import is_user_id

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """Neutralise Slack's control sequences: `<!channel>`, `<@U123>`, `<url|label>`.

    Slack asks for exactly these three characters to be escaped; everything
    else is shown as typed.
    """
    return text.translate(_ESCAPES)


def mention(user_id: str) -> str | None:
    """`<@U123>` for a well-formed user id, else None: anything else inside `<@...>`
    could be a `<!channel>` or a link in disguise."""
    return f"<@{user_id}>" if is_user_id(user_id) else None


def code(text: str, limit: int = 80) -> str:
    """User or API text inside an inline code span (bot.core.quoting), escaped for mrkdwn."""
    return escape(quote(text, limit))


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip(text: str, limit: int) -> str:
    """Outside text, escaped, on one line, in at most `limit` characters *after* escaping.

    Sizes are bounded by construction, not by cutting finished blocks: cutting
    a section at 3000 characters could split an escape (`&amp;`) or a date
    token and leave broken mrkdwn. Clipping after escaping keeps the budgets
    true for names made of `&` (five characters each once escaped) and never
    cuts an escape in half.
    """
    flat = " ".join(text.split())
    escaped = escape(flat)
    if len(escaped) <= limit:
        return escaped
    pieces: list[str] = []
    used = 0
    for char in flat:
        piece = escape(char)
        if used + len(piece) > limit - 1:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + "…"


def join(items: Sequence[str], word: str) -> str:
    """ "a", "a and b", "a, b and c" """
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def date(moment: datetime | None) -> str:
    """A time each reader sees in their own zone, with a UTC fallback."""
    if moment is None:
        return "-"
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{humanize.utc(moment)}>"
