"""The reply to `/backups audit`: who changed what in this channel, and who acted on Northflank.

Pure. Targets and details are outside text (names from Northflank, what a
user typed), so each is escaped and clipped to a budget counted after
escaping; AUDIT_SHOWN lines of the longest kind stay well under Slack's
limits (about 13k characters a message; 3000 a section, so lines are packed
into sections).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core import humanize
from bot.core.audit import AUDIT_SHOWN, AuditEntry, AuditOutcome
from bot.slack.render import kit
from bot.slack.render.kit import Block, Reply
from bot.slack.render.mrkdwn import clip, date, mention

# Budgets, after escaping.
_TARGET = 100
_DETAIL = 200

_RECORDED = (
    "I record who watches, unwatches, mutes or unmutes a destination here, who acknowledges "
    "or snoozes an alert, and every *Retain*, *Start backup* and *Abort* pressed on an alert, "
    "refused ones included."
)


def audit_list(entries: Sequence[AuditEntry], now: datetime) -> Reply:
    """The last AUDIT_SHOWN entries of this channel, newest first, one line each."""
    if not entries:
        return {
            "text": "Nothing has been recorded in this channel yet.",
            "blocks": [kit.section(f"Nothing has been recorded in this channel yet. {_RECORDED}")],
        }
    newest = sorted(entries, key=lambda entry: entry.at, reverse=True)[:AUDIT_SHOWN]
    blocks: list[Block] = [kit.header("Audit: this channel")]
    blocks.extend(kit.section(text) for text in kit.chunk(_line(entry, now) for entry in newest))
    blocks.append(kit.context(f"Newest first, the last {AUDIT_SHOWN} at most. {_RECORDED}"))
    count = len(newest)
    return {
        "text": f"The last {count} recorded action{'s' if count != 1 else ''} in this channel",
        "blocks": blocks,
    }


def _line(entry: AuditEntry, now: datetime) -> str:
    """ "<date> (2h ago) · <@U1> · *watch* `dest-1` · events failed, stuck · remind 1d" """
    who = mention(entry.user_id) or "someone"
    when = f"{date(entry.at)} ({humanize.time_until(entry.at, now)})"
    # The action as the audit names it (`start-backup`), so it can be searched for.
    parts = [when, who, f"*{entry.action.value}* {_target(entry.target)}"]
    detail = clip(entry.detail, _DETAIL) if entry.detail else None
    if entry.outcome is AuditOutcome.FAILED:
        parts.append(f":warning: failed: {detail}" if detail else ":warning: failed")
    else:
        if detail:
            parts.append(detail)
        if entry.outcome is AuditOutcome.REFUSED:
            parts.append(":no_entry: refused")
    return " · ".join(parts)


def _target(target: str) -> str:
    """Inline code that no backtick in the name can end, nor any control character break."""
    printable = "".join(ch for ch in target if ch.isprintable()).replace("`", "'")
    return f"`{clip(printable, _TARGET)}`" if printable.strip() else "-"
