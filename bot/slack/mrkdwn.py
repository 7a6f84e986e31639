"""Making outside text safe and readable inside Slack mrkdwn. Pure."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core import humanize

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
# Slack user ids: U, or W on Enterprise Grid, then upper-case letters and digits.
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


def escape(text: str) -> str:
    """Neutralise Slack's control sequences: `<!channel>`, `<@U123>`, `<url|label>`.

    Slack asks for exactly these three characters to be escaped; everything
    else is shown as typed.
    """
    return text.translate(_ESCAPES)


def is_user_id(text: str) -> bool:
    return _USER_ID.fullmatch(text) is not None


def mention(user_id: str) -> str | None:
    """`<@U123>` for a well-formed user id, else None: anything else inside `<@...>`
    could be a `<!channel>` or a link in disguise."""
    return f"<@{user_id}>" if is_user_id(user_id) else None


def code(text: str, limit: int = 80) -> str:
    """User or API text inside an inline code span, which a backtick would end."""
    cleaned = "".join(ch for ch in text if ch.isprintable()).replace("`", "'")
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return f"`{escape(cleaned)}`"


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def date(moment: datetime | None) -> str:
    """A time each reader sees in their own zone, with a UTC fallback."""
    if moment is None:
        return "-"
    epoch = int(moment.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{humanize.utc(moment)}>"
