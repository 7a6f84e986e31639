"""A page of backups and the list of destinations, with the Next button. Pure.

Limits kept here (../shared/reference/slack-platform.md): 2000 characters a
button value; and, because Slack has refused messages of about 13k
characters in total, a listing is capped at MAX_LIMIT rows of bounded length.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from bot.core import humanize
from bot.core.backups import Backup, Destination
from bot.core.commands import CommandError, ListCommand, parse_addon
from bot.core.connections import shown_id
from bot.core.listing import (
    MAX_LIMIT,
    BackupFilter,
    ListingPage,
    Position,
    known_status_words,
)
from bot.slack.render.kit import Block, Reply, chunk, context, header, message, section
from bot.slack.render.mrkdwn import code, date, escape, truncate
from bot.slack.render.words import STATUS_EMOJI

NEXT_PAGE_ACTION = "backups_next_page"
MAX_BUTTON_VALUE = 2000
_MAX_NAME = 80
_MAX_DESTINATIONS_SHOWN = 40


def listing(page: ListingPage, *, backup_filter: BackupFilter, limit: int, now: datetime) -> Reply:
    destination = page.destination
    blocks: list[Block] = [header(f"Backups in {destination.name}")]
    if page.backups:
        blocks.extend(_backup_section(backup, now) for backup in page.backups)
    else:
        blocks.append(section(_empty_text(page, backup_filter)))
    button_value = next_page_value(destination.id, page.next_position, backup_filter, limit)
    footer = _listing_context(page, backup_filter)
    if page.next_position is not None and button_value is None:
        # Northflank's cursor is too long for a button (2,000 characters): say so.
        footer += " · more backups exist; narrow the list with status= or addon="
    blocks.append(context(footer))
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
        f"• *{escape(truncate(d.name, _MAX_NAME))}*  {code(shown_id(d.id))}"
        + (f"  _{escape(d.type)}_" if d.type else "")
        for d in items[:_MAX_DESTINATIONS_SHOWN]
    ]
    if len(items) > _MAX_DESTINATIONS_SHOWN:
        lines.append(f"…and {len(items) - _MAX_DESTINATIONS_SHOWN} more.")
    blocks = [header("Backup destinations")]
    # Sections hold 3000 characters; chunk the lines so a long list still fits.
    blocks.extend(section(text) for text in chunk(lines))
    blocks.append(context("List one with `/backups list DEST`, using the id or the name."))
    return {"text": f"{len(items)} backup destinations", "blocks": blocks}


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
    return section("\n".join(lines))


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
    parts.append(f"destination {code(shown_id(page.destination.id))}")
    return " · ".join(parts)


def _filter_words(backup_filter: BackupFilter) -> str:
    words = []
    if backup_filter.statuses:
        # Checked against the known statuses on the way in; escaped all the same.
        words.append("status=" + escape(",".join(sorted(backup_filter.statuses))))
    if backup_filter.addon:
        words.append("addon=" + escape(truncate(backup_filter.addon, 60)))
    return " ".join(words)


# ----- reading the Next button back ---------------------------------------------------------

_STATUS_WORDS = frozenset(known_status_words())


def _plain_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable() and len(text) <= MAX_BUTTON_VALUE


def _valid_addon(addon: str) -> bool:
    try:
        parse_addon(addon)
    except CommandError:
        return False
    return True


def read_next_page_value(value: str) -> tuple[ListCommand, Position]:
    """The Next button's value, checked as strictly as any other user input."""
    stale = CommandError(
        "That button is from a listing I can no longer continue. Run `/backups list` again."
    )
    try:
        data = json.loads(value)
    except (ValueError, TypeError):
        raise stale from None
    if not isinstance(data, dict):
        raise stale
    destination, cursor, skip = data.get("d"), data.get("c"), data.get("k", 0)
    statuses, addon, limit = data.get("s", []), data.get("a"), data.get("l")
    if not (isinstance(destination, str) and 0 < len(destination) <= 100):
        raise stale
    # Only what our own button could hold: a cursor is printable ASCII, statuses
    # and addon pass the same checks as `status=` and `addon=` in a command.
    if not (cursor is None or (isinstance(cursor, str) and _plain_ascii(cursor))):
        raise stale
    if not (addon is None or (isinstance(addon, str) and _valid_addon(addon))):
        raise stale
    if not (isinstance(skip, int) and 0 <= skip <= 100):
        raise stale
    if not (isinstance(limit, int) and 1 <= limit <= MAX_LIMIT):
        raise stale
    if not (isinstance(statuses, list) and all(s in _STATUS_WORDS for s in statuses)):
        raise stale
    command = ListCommand(destination, BackupFilter(frozenset(statuses), addon), limit)
    return command, Position(cursor, skip)
