"""Block Kit for every reply. Pure functions of their inputs, clock included.

Limits kept here (../shared/reference/slack-platform.md): at most 50 blocks,
3000 characters a section, 150 a header, 2000 a button value; and, because
Slack has refused messages of about 13k characters in total, a listing is
capped at MAX_LIMIT rows of bounded length.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core import humanize
from bot.core.backups import Backup, BackupStatus, Destination
from bot.services.listing import BackupFilter, ListingPage, Position
from bot.slack.mrkdwn import code, date, escape, truncate

Block = dict[str, Any]
Reply = dict[str, Any]

NEXT_PAGE_ACTION = "backups_next_page"
BUSY_TEXT = "I'm too busy (or restarting) to answer right now; please try again in a minute."
UNKNOWN_BUTTON_TEXT = (
    "I don't know that button: it may be from an older version of backup-bot. "
    "Nothing was done. `/backups help` shows what I can do."
)
UNREADABLE_BUTTON_TEXT = (
    "I couldn't read that button press, so nothing was done. "
    "Run `/backups list` again for a fresh listing."
)
MAX_BUTTON_VALUE = 2000
_MAX_NAME = 80
_MAX_DESTINATIONS_SHOWN = 40

STATUS_EMOJI: dict[BackupStatus, str] = {
    BackupStatus.COMPLETED: ":white_check_mark:",
    BackupStatus.FAILED: ":x:",
    BackupStatus.ABORTED: ":no_entry_sign:",
    BackupStatus.ABORTING: ":warning:",
    BackupStatus.IN_PROGRESS: ":hourglass_flowing_sand:",
    BackupStatus.SCHEDULED: ":calendar:",
    BackupStatus.NOT_SUPPORTED: ":heavy_minus_sign:",
    BackupStatus.UNKNOWN: ":grey_question:",
}


def listing(page: ListingPage, *, backup_filter: BackupFilter, limit: int, now: datetime) -> Reply:
    destination = page.destination
    blocks: list[Block] = [_header(f"Backups in {destination.name}")]
    if page.backups:
        blocks.extend(_backup_section(backup, now) for backup in page.backups)
    else:
        blocks.append(_section(_empty_text(page, backup_filter)))
    button_value = next_page_value(destination.id, page.next_position, backup_filter, limit)
    context = _listing_context(page, backup_filter)
    if page.next_position is not None and button_value is None:
        # Northflank's cursor is too long for a button (2,000 characters): say so.
        context += " · more backups exist; narrow the list with status= or addon="
    blocks.append(_context(context))
    if page.next_position is not None and button_value is not None:
        blocks.append(
            {
                "type": "actions",
                "block_id": "backups_paging",
                "elements": [
                    {
                        "type": "button",
                        "action_id": NEXT_PAGE_ACTION,
                        "text": {"type": "plain_text", "text": "Next page"},
                        "value": button_value,
                    }
                ],
            }
        )
    shown = len(page.backups)
    text = f"{shown} backup{'s' if shown != 1 else ''} in {escape(destination.name)}"
    return {"text": text, "blocks": blocks}


def next_page_value(
    destination_id: str, position: Position | None, backup_filter: BackupFilter, limit: int
) -> str | None:
    """Everything the Next button needs, so any replica can answer it."""
    if position is None:
        return None
    value = json.dumps(
        {
            "d": destination_id,
            "c": position.cursor,
            "k": position.skip,
            "s": sorted(backup_filter.statuses),
            "a": backup_filter.addon,
            "l": limit,
        },
        separators=(",", ":"),
    )
    return value if len(value) <= MAX_BUTTON_VALUE else None


def destinations(items: Sequence[Destination]) -> Reply:
    if not items:
        return message(
            "The Northflank token can't see any backup destinations. Add one in Northflank "
            "(Team settings > Backup destinations), or give the token's API role "
            "*Account > BackupDestinations > General > Read*."
        )
    lines = [
        f"• *{escape(truncate(d.name, _MAX_NAME))}*  {code(d.id)}"
        + (f"  _{escape(d.type)}_" if d.type else "")
        for d in items[:_MAX_DESTINATIONS_SHOWN]
    ]
    if len(items) > _MAX_DESTINATIONS_SHOWN:
        lines.append(f"…and {len(items) - _MAX_DESTINATIONS_SHOWN} more.")
    blocks = [_header("Backup destinations")]
    # Sections hold 3000 characters; chunk the lines so a long list still fits.
    chunk: list[str] = []
    for line in lines:
        if sum(len(c) + 1 for c in chunk) + len(line) > 2900:
            blocks.append(_section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(_section("\n".join(chunk)))
    blocks.append(_context("List one with `/backups list DEST`, using the id or the name."))
    return {"text": f"{len(items)} backup destinations", "blocks": blocks}


def message(text: str) -> Reply:
    """A short answer: an error, a refusal, a hint. `text` is already mrkdwn."""
    return {"text": text, "blocks": [_section(text)]}


# The ranges and defaults below are bot.core.durations' *_RANGE and bot.core.watches' DEFAULT_*.
HELP_TEXT = "\n".join(
    [
        "*backup-bot* lists and watches your Northflank backup destinations.",
        "",
        "*Look*",
        "`/backups destinations` — the backup destinations the bot's token can see",
        "`/backups list DEST` — newest backups first, with a *Next page* button",
        "`/backups list DEST status=failed,aborted` — only those statuses",
        "`/backups list DEST addon=orders-db limit=20` — one addon, 20 a page (the most)",
        "",
        "*Watch* (alerts are posted in this channel)",
        "`/backups watch DEST` — alert when a backup fails, aborts, gets stuck, "
        "misses its schedule or is about to expire",
        "`/backups watch DEST events=failed,aborted` — only those events; choose from "
        "failed, aborted, expiring, stuck and missed, or `events=all`",
        "`/backups watch DEST expiry=24h stuck=2h` — warn 24h before a backup expires "
        "(1h to 90d, default 3d); call a backup stuck after 2h running (10m to 30d, "
        "default 6h)",
        "`/backups watch DEST remind=12h` — remind in its thread every 12h (1h to 30d) while "
        "a failed, stuck or missed alert is open and unacknowledged (default 1d); "
        "`/backups watch DEST remind=off` for no reminders",
        "`/backups watch DEST quiet=22:00-07:00 tz=Europe/Berlin` — hold alerts during those "
        "hours and post them together when they end (`tz=` is a time zone name, UTC if left "
        "out); `/backups watch DEST quiet=off` removes them",
        "`/backups watching` — what this channel watches, with its settings and the last poll",
        "`/backups unwatch DEST` — stop watching it here",
        "`/backups mute DEST 8h` — no alerts from it here for 8 hours (1m to 30d)",
        "`/backups unmute DEST` — alerts again now",
        "`/backups audit` — the last 20 changes and button actions in this channel: who, "
        "what and when",
        "`/backups help` — this message",
        "",
        "*On each alert*",
        "*Acknowledge* — you're on it: says so on the alert and stops its reminders",
        "*Snooze…* — 1 hour, 24 hours or 7 days without that event for that addon here",
        "*Show backups* — the addon's backups, visible only to you",
        "*Retain* (expiring backup), *Start backup* (failed or missed) and *Abort* (stuck) "
        "change things in Northflank: they appear only when the bot has admins (BOT_ADMINS), "
        "only those may use them, each after a confirmation, and `/backups audit` records "
        "each press.",
        "",
        "DEST is a destination id or its name (quote names with spaces). "
        "Durations look like `90m`, `6h`, `3d`, `1w` or `1h30m`. "
        "Watching and muting may be limited to the bot's admins. "
        "Answers are visible only to you.",
    ]
)


def help_reply() -> Reply:
    # One section: HELP_TEXT stays under 3000 characters (tests/slack/test_blocks.py checks).
    return message(HELP_TEXT)


def _backup_section(backup: Backup, now: datetime) -> Block:
    emoji = STATUS_EMOJI[backup.status]
    status_word = escape(truncate(backup.status_text, 40))
    title = f"{emoji} *{status_word}*  {escape(truncate(backup.name, _MAX_NAME))}"
    where = []
    if backup.addon is not None:
        kind = " ".join(
            escape(truncate(p, 30)) for p in (backup.addon_type, backup.addon_version) if p
        )
        addon_name = escape(truncate(backup.addon.name, 40))
        where.append(f"addon *{addon_name}*" + (f" ({kind})" if kind else ""))
    elif backup.addon_type:
        where.append(escape(truncate(backup.addon_type, 30)))
    if backup.project is not None:
        where.append(f"project *{escape(truncate(backup.project.name, 40))}*")
    timing = [
        humanize.size(backup.size_bytes),
        f"created {date(backup.created_at)}",
        f"took {humanize.duration(backup.duration_seconds)}"
        if backup.completed_at
        else "not finished",
    ]
    if backup.expires_at is not None:
        left = humanize.time_until(backup.expires_at, now)
        timing.append(f"expired {left}" if backup.expires_at <= now else f"expires {left}")
    lines = [title]
    if where:
        lines.append(" · ".join(where))
    lines.append(" · ".join(timing))
    return _section("\n".join(lines))


def _empty_text(page: ListingPage, backup_filter: BackupFilter) -> str:
    if not backup_filter.active:
        return "This destination has no backups yet."
    scope = "in the newest" if page.scan_capped else "among all"
    return f"No backups match {_filter_words(backup_filter)} {scope} {page.scanned:,} backups."


def _listing_context(page: ListingPage, backup_filter: BackupFilter) -> str:
    parts = ["newest first"]
    if backup_filter.active:
        parts.append(f"filter: {_filter_words(backup_filter)}")
        parts.append(f"{page.scanned:,} scanned")
    if page.scan_capped:
        parts.append("stopped scanning here to spare the API budget; *Next page* scans further")
    if page.skipped:
        count = len(page.skipped)
        parts.append(f"{count} unreadable backup{'s' if count != 1 else ''} skipped")
    parts.append(f"destination {code(page.destination.id)}")
    return " · ".join(parts)


def _filter_words(backup_filter: BackupFilter) -> str:
    words = []
    if backup_filter.statuses:
        # Checked against the known statuses on the way in; escaped all the same.
        words.append("status=" + escape(",".join(sorted(backup_filter.statuses))))
    if backup_filter.addon:
        words.append("addon=" + escape(truncate(backup_filter.addon, 60)))
    return " ".join(words)


def _header(text: str) -> Block:
    # Header text is plain_text, which Slack does not parse for mentions.
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, 150)}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 2000)}]}
