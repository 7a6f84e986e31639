"""Listing a destination's backups: resolving names, paging, filtering, a short-lived cache.

Shared by `/backups list`, its Next button, Show backups on an alert and the
CLI. What a listing is (filters, positions, pages) is bot/core/listing.py;
this reads the pages from Northflank, through a cache that five people
paging the same destination share.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from cachetools import TTLCache

from bot.core.backups import Backup, BackupPage, Destination
from bot.core.connections import ENVIRONMENT, destination_key, split_destination_key
from bot.core.listing import (
    DEFAULT_LIMIT,
    DESTINATION_ID,
    MAX_SCAN_PAGES,
    NO_FILTER,
    START,
    BackupFilter,
    ListingPage,
    Position,
)
from bot.northflank.client import MAX_PER_PAGE, NorthflankClient
from bot.northflank.errors import NotFoundError, PermissionDeniedError


def per_page_for(backup_filter: BackupFilter, limit: int) -> int:
    # Unfiltered, one API page is one answer. Filtered, read big pages to
    # find matches in as few requests as possible.
    return MAX_PER_PAGE if backup_filter.active else min(limit, MAX_PER_PAGE)


class PageCache:
    """Caches API pages for a few seconds and shares in-flight fetches.

    Five people paging the same destination at once cost one request per page.
    """

    def __init__(
        self, *, ttl: float = 30.0, maxsize: int = 512, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self._pages: TTLCache[tuple[str, str | None, int], BackupPage] = TTLCache(
            maxsize=maxsize, ttl=ttl, timer=timer
        )
        self._in_flight: dict[tuple[str, str | None, int], asyncio.Future[BackupPage]] = {}

    async def get(
        self,
        key: tuple[str, str | None, int],
        fetch: Callable[[], Awaitable[BackupPage]],
    ) -> BackupPage:
        cached = self._pages.get(key)
        if cached is not None:
            return cached
        pending = self._in_flight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[BackupPage] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            page = await fetch()
        except BaseException as exc:
            future.set_exception(exc)
            # Nobody else may be waiting; don't let asyncio warn about it.
            future.exception()
            raise
        else:
            self._pages[key] = page
            future.set_result(page)
            return page
        finally:
            del self._in_flight[key]


@dataclass(frozen=True, slots=True)
class NoDestinations:
    """The token can see no backup destination at all."""


@dataclass(frozen=True, slots=True)
class WhichDestination:
    """No destination was named, and the token sees `count` of them: one must be named."""

    count: int


class BackupLister:
    """The service behind every listing: resolves names, pages and filters.

    One per Northflank connection, each with its own cache. The destinations it
    returns carry destination keys (bot/core/connections.py): Northflank's id
    for the environment's token, `id@N` for connection N. Only here, at the API's
    edge, do keys turn back into Northflank's ids.
    """

    def __init__(
        self,
        client: NorthflankClient,
        *,
        page_cache: PageCache | None = None,
        destinations_ttl: float = 300.0,
        connection_id: int = ENVIRONMENT,
    ) -> None:
        self._client = client
        self.connection_id = connection_id
        self._pages = page_cache or PageCache()
        self._destinations: TTLCache[str, tuple[Destination, ...]] = TTLCache(
            maxsize=1, ttl=destinations_ttl
        )

    async def destinations(self) -> tuple[Destination, ...]:
        cached = self._destinations.get("all")
        if cached is None:
            cached = tuple(self._keyed(d) for d in await self._client.list_destinations())
            self._destinations["all"] = cached
        return cached

    async def choose(
        self, reference: str | None, *, watched: Destination | None = None
    ) -> Destination | NoDestinations | WhichDestination:
        """The destination `list` is about: the one named, else the one the channel
        watches (`watched`), else the token's only one."""
        if reference is not None:
            return await self.resolve(reference)
        if watched is not None:
            return watched
        known = await self.destinations()
        if not known:
            return NoDestinations()
        if len(known) != 1:
            return WhichDestination(len(known))
        return known[0]

    async def resolve(self, reference: str) -> Destination:
        """A destination by id, or by name (case-insensitive) for people who type names."""
        try:
            known = await self.destinations()
        except PermissionDeniedError:
            # A role may read one destination without listing them all.
            known = ()
        for destination in known:
            if destination.id == reference or self._northflank_id(destination.id) == reference:
                return self._addressable(destination)
        folded = reference.casefold()
        named = [d for d in known if d.name.casefold() == folded]
        if len(named) == 1:
            return self._addressable(named[0])
        if not DESTINATION_ID.fullmatch(reference):
            # Only a plain id ever goes into a URL path: "..", "/" or "?" in
            # user text must not be able to reach another API route.
            raise NotFoundError(f"no destination is named {reference!r}", status=404)
        # The list may be scoped differently from the token's direct access,
        # so ask for the id itself before giving up.
        return self._keyed(await self._client.get_destination(reference))

    async def page(
        self,
        destination: Destination,
        *,
        backup_filter: BackupFilter = NO_FILTER,
        limit: int = DEFAULT_LIMIT,
        start: Position = START,
        per_page: int | None = None,
        max_pages: int = MAX_SCAN_PAGES,
    ) -> ListingPage:
        """Up to `limit` matching backups from `start`, and where to go on from."""
        # A watched destination comes from the store, not from resolve(): check it too.
        self._addressable(destination)
        limit = max(1, limit)
        per_page = per_page or per_page_for(backup_filter, limit)
        found: list[Backup] = []
        skipped: list[str] = []
        scanned = 0
        position = start
        for _ in range(max_pages):
            page = await self._fetch(destination.id, position.cursor, per_page)
            skipped.extend(page.skipped)
            for index in range(position.skip, len(page.backups)):
                backup = page.backups[index]
                scanned += 1
                if backup_filter.matches(backup):
                    found.append(backup)
                    if len(found) == limit:
                        return ListingPage(
                            destination,
                            tuple(found),
                            _after(page, position.cursor, index + 1),
                            scanned,
                            skipped=tuple(skipped),
                        )
            if page.next_cursor is None:
                return ListingPage(destination, tuple(found), None, scanned, skipped=tuple(skipped))
            position = Position(page.next_cursor)
        return ListingPage(
            destination, tuple(found), position, scanned, scan_capped=True, skipped=tuple(skipped)
        )

    async def read_back(
        self, destination: Destination, since: datetime, *, max_pages: int = MAX_SCAN_PAGES
    ) -> tuple[list[Backup], bool]:
        """The backups created since `since`, newest first, in pages of the most the API
        gives, within a filtered listing's page budget; and whether they reach `since`."""
        self._addressable(destination)
        found: list[Backup] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page = await self._fetch(destination.id, cursor, MAX_PER_PAGE)
            found.extend(b for b in page.backups if b.created_at >= since)
            # Newest first: a page that reaches past `since` ends the read.
            if page.next_cursor is None or any(b.created_at < since for b in page.backups):
                return found, True
            cursor = page.next_cursor
        return found, False

    async def _fetch(self, key: str, cursor: str | None, per_page: int) -> BackupPage:
        destination_id = self._northflank_id(key)
        return await self._pages.get(
            (destination_id, cursor, per_page),
            lambda: self._client.list_backups_page(
                destination_id, cursor=cursor, per_page=per_page
            ),
        )

    def _keyed(self, destination: Destination) -> Destination:
        key = destination_key(destination.id, self.connection_id)
        return replace(destination, id=key) if key != destination.id else destination

    def _northflank_id(self, key: str) -> str:
        """Northflank's id of a destination key of this connection's; refused otherwise.

        A key of another connection must never reach this token's API: it
        would read another team's destination of the same name.
        """
        destination_id, connection_id = split_destination_key(key)
        if connection_id != self.connection_id:
            raise NotFoundError(
                f"destination {destination_id!r} belongs to another connection", status=404
            )
        return destination_id

    def _addressable(self, destination: Destination) -> Destination:
        """The destination, if its id can go into a URL path as it is.

        The SDK quotes `/`, `?` and `#`, but not dots: an id of `..` that
        Northflank itself listed would still turn `/backup-destinations/../backups`
        into `/backups`, another route. Northflank's ids are slugs; anything else
        is refused before a request is made.
        """
        destination_id = self._northflank_id(destination.id)
        if not DESTINATION_ID.fullmatch(destination_id):
            raise NotFoundError(f"destination id {destination_id!r} is not a plain id", status=404)
        return destination


def _after(page: BackupPage, cursor: str | None, taken: int) -> Position | None:
    """Where the next answer starts, given that `taken` backups of this page are shown."""
    if taken < len(page.backups):
        return Position(cursor, taken)
    return Position(page.next_cursor) if page.next_cursor else None
