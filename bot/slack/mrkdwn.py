"""Making outside text safe and readable inside Slack mrkdwn. Pure."""

from __future__ import annotations

from datetime import datetime

from bot import humanize

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str) -> str:
    """Neutralise Slack's control sequences: `<!channel>`, `<@U123>`, `<url|label>`.

    Slack asks for exactly these three characters to be escaped; everything
    else is shown as typed.
    """
    return text.translate(_ESCAPES)


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
