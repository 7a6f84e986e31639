"""Bringing the store's picture of one destination up to date, page by page.

The list is newest first, so a steady poll reads one page; `paging` (pure)
decides whether the next page may hold news. A big destination's first full
read is spread over several polls, resuming from a saved cursor, and an
unfinished backup that Northflank no longer lists is forgotten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.core import paging
from bot.core.connections import shown_id
from bot.northflank.client import MAX_PER_PAGE, NorthflankClient
from bot.northflank.errors import BadRequestError
from bot.services.poll_reports import DestinationReport
from bot.services.poll_work import PagePool
from bot.store import PollStart, ScanState, Store

log = logging.getLogger(__name__)

# One destination never takes more than this many pages in one poll; a big
# destination's first full read continues over the following polls.
MAX_PAGES_PER_DESTINATION = 50
# A first full read that met unreadable items is started over, up to this many
# reads in all: the items may read fine next time, and an incomplete first read
# keeps `watch` saying its figures are not final. A destination that keeps
# sending an unreadable item is then counted as read, so as not to spend the
# API budget re-reading it every poll.
MAX_FULL_READS = 3


class DestinationReader:
    def __init__(
        self,
        store: Store,
        *,
        clock: Callable[[], datetime],
        per_page: int = MAX_PER_PAGE,
    ) -> None:
        self._store = store
        self._clock = clock
        self._per_page = per_page

    async def read(
        self,
        destination_id: str,
        pool: PagePool,
        report: DestinationReport,
        client: NorthflankClient,
        start: PollStart,
    ) -> None:
        """Read the pages that may hold news, save them, forget what is no longer listed.

        `destination_id` is the store's destination key; `client` is its connection's;
        `start` is what the poll read from the store before asking Northflank.
        """
        northflank_id = shown_id(destination_id)
        now = self._clock()
        # Every backup not yet final is in the rules' view, whatever its look-back.
        unfinished = {
            known.backup.id: known.backup.created_at
            for known in start.state.backups
            if paging.still_changing(known.backup.status_text, known.backup.created_at, now)
        }
        scan = start.scan
        cursor: str | None = None
        oldest: datetime | None = None
        in_order = True
        # An unreadable item whose id could not be read either might be any stored
        # backup: then this poll cannot tell deleted from unreadable, and forgets nothing.
        unnamed_items = False
        met_unreadable = False
        pages = 0
        resumed_from: str | None = None
        while True:
            try:
                page = await client.list_backups_page(
                    northflank_id, cursor=cursor, per_page=self._per_page
                )
            except BadRequestError:
                if cursor is None or cursor != resumed_from:
                    raise
                # A cursor saved by an earlier poll may have expired: start the
                # full read again next time rather than fail every poll.
                log.info("a saved paging cursor was refused; the full read starts over")
                await self._store.save_scan_state(
                    destination_id, ScanState(False, None, attempts=scan.attempts)
                )
                return
            pages += 1
            report.requests += 1
            report.backups_seen += len(page.backups)
            saved = await self._store.save_backups(
                destination_id, page.backups, self._clock(), stored=start.newest
            )
            report.store_changed = report.store_changed or saved.written > 0
            for backup in page.backups:
                unfinished.pop(backup.id, None)
            # Listed but unreadable (wrong types, say): not deleted, so not forgotten.
            # It stays unfinished in the store, and the next poll looks for it again.
            for backup_id in page.unreadable_ids:
                unfinished.pop(backup_id, None)
            unnamed_items = unnamed_items or len(page.unreadable_ids) < len(page.skipped)
            met_unreadable = met_unreadable or bool(page.skipped)
            verdict = paging.judge_page(
                page,
                known_before=saved.known_before,
                oldest_unfinished=min(unfinished.values(), default=None),
                previous_oldest=oldest,
                order_confirmed=in_order,
            )
            if in_order and not verdict.order_confirmed:
                log.warning(
                    "backups were not newest first; reading the whole destination",
                    extra={"destination": destination_id},
                )
                report.full_scan = True
            oldest, in_order = verdict.oldest_seen, verdict.order_confirmed
            if page.next_cursor is None:
                # Read to the end: the first full read is done, and an unfinished
                # backup not met on the way has been deleted.
                if not scan.complete:
                    await self._finish_first_read(destination_id, scan, met_unreadable)
                if not unnamed_items:
                    await self._forget(destination_id, unfinished, report)
                return
            if not verdict.read_next and scan.complete:
                # In order, and nothing left to follow: an unfinished backup newer
                # than this page's oldest would have been met, so it is gone.
                if in_order and oldest is not None and not unnamed_items:
                    await self._forget(
                        destination_id,
                        {i: c for i, c in unfinished.items() if c > oldest},
                        report,
                    )
                return
            if not verdict.read_next and scan.cursor is not None:
                # Caught up with the news; go on with the first full read where it stopped.
                cursor = resumed_from = scan.cursor
                scan = replace(scan, cursor=None)
            else:
                cursor = page.next_cursor
            if pages >= MAX_PAGES_PER_DESTINATION or not pool.take():
                unreadable = scan.unreadable or met_unreadable
                await self._store.save_scan_state(
                    destination_id,
                    ScanState(False, cursor, unreadable=unreadable, attempts=scan.attempts),
                )
                return

    async def _finish_first_read(
        self, destination_id: str, scan: ScanState, met_unreadable: bool
    ) -> None:
        """The first full read reached the end: it is done, unless it met unreadable items."""
        attempts = scan.attempts + 1
        if (scan.unreadable or met_unreadable) and attempts < MAX_FULL_READS:
            log.warning(
                "the first full read met unreadable backups; it starts over next poll",
                extra={"destination": destination_id, "reads": attempts},
            )
            await self._store.save_scan_state(
                destination_id, ScanState(False, None, attempts=attempts)
            )
            return
        if scan.unreadable or met_unreadable:
            log.warning(
                "unreadable backups after %d full reads; the destination counts as read",
                attempts,
                extra={"destination": destination_id},
            )
        await self._store.save_scan_state(destination_id, ScanState(True, None, attempts=attempts))

    async def _forget(
        self, destination_id: str, gone: dict[str, datetime], report: DestinationReport
    ) -> None:
        if gone:
            report.store_changed = True
            await self._store.forget_backups(destination_id, list(gone))
            log.info(
                "unfinished backups are no longer listed; forgetting them",
                extra={"destination": destination_id, "backups": len(gone)},
            )
