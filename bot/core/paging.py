"""When a poll stops paging. Pure.

The list is newest first, so page 1 usually holds everything that can still
change. A poll reads the next page only while one of these holds:

- the oldest backup on this page is one the bot has never seen: new backups
  may have pushed more unseen ones onto the next page;
- the store still knows an unfinished backup older than this page: it may
  have finished (or failed) since, and only that page can say;
- the order could not be confirmed from createdAt: then nothing can be
  inferred from position, and the poll reads everything (a full scan).

This refines design.md's "page further while a page holds a backup not yet
seen in a final state": an in-progress backup on page 1 is seen again on
page 1 next time, so it costs no extra request.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.backups import BackupPage, BackupStatus

# A status Northflank added after this code was written might never become
# one we call final. Stop chasing such a backup once it is this old, or it
# would keep every poll paging down to it forever.
UNKNOWN_STATUS_FOLLOWED_FOR = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class PageVerdict:
    read_next: bool
    # False once any two backups were out of createdAt order, on this page
    # or across the boundary with the previous one.
    order_confirmed: bool
    # The oldest createdAt seen so far, carried to the next page's check.
    oldest_seen: datetime | None


def still_changing(status_text: str, created_at: datetime, now: datetime) -> bool:
    """Whether a stored backup may still change status, and so must be seen again."""
    status = BackupStatus.parse(status_text)
    if status is BackupStatus.UNKNOWN:
        return now - created_at < UNKNOWN_STATUS_FOLLOWED_FOR
    return not status.is_final


def judge_page(
    page: BackupPage,
    *,
    known_before: Mapping[str, str],
    oldest_unfinished: datetime | None,
    previous_oldest: datetime | None,
    order_confirmed: bool,
) -> PageVerdict:
    """Read the next page?

    `known_before` maps the ids on this page that the store knew before this
    poll to their stored status; `oldest_unfinished` is the oldest createdAt
    among stored unfinished backups that this poll has not met yet.
    """
    oldest = previous_oldest
    in_order = order_confirmed
    for backup in page.backups:
        if oldest is not None and backup.created_at > oldest:
            in_order = False
        oldest = backup.created_at if oldest is None else min(oldest, backup.created_at)
    if page.next_cursor is None:
        return PageVerdict(False, in_order, oldest)
    if not in_order or not page.backups:
        # An empty page with a cursor says nothing about what follows.
        return PageVerdict(True, in_order, oldest)
    unseen_at_the_end = page.backups[-1].id not in known_before
    # `oldest_unfinished` counts only unfinished backups not yet met in this
    # poll; one as old as this page's oldest or older lies further on.
    older_unfinished = (
        oldest_unfinished is not None and oldest is not None and (oldest_unfinished <= oldest)
    )
    return PageVerdict(unseen_at_the_end or older_unfinished, in_order, oldest)
