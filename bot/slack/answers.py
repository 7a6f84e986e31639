"""From a parsed command (or a button press) to the reply a person sees.

This is the service layer the Slack listeners delegate to: it talks to the
listing service, never to Slack, and turns every failure into a helpful
answer rather than an exception.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from bot.core.commands import (
    LIST_USAGE,
    AuditCommand,
    Command,
    CommandError,
    DestinationsCommand,
    HelpCommand,
    ListCommand,
    MuteCommand,
    UnmuteCommand,
    UnwatchCommand,
    WatchCommand,
    WatchingCommand,
    parse_addon,
)
from bot.northflank.errors import NorthflankError
from bot.services.listing import (
    MAX_LIMIT,
    START,
    BackupFilter,
    BackupLister,
    Position,
    known_status_words,
)
from bot.services.watching import Requester, WatchService
from bot.slack import blocks, explain
from bot.slack.blocks import MAX_BUTTON_VALUE, Reply

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class Answers:
    def __init__(
        self,
        lister: BackupLister,
        watches: WatchService | None = None,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._lister = lister
        self._watches = watches
        self._clock = clock

    async def for_command(self, command: Command, who: Requester) -> Reply:
        if isinstance(command, HelpCommand):
            return blocks.help_reply()
        if isinstance(command, DestinationsCommand):
            return await self._guarded(self._destinations(), None)
        if isinstance(command, ListCommand):
            return await self._guarded(self._list(command, who=who), command.destination)
        watches = self._watches
        if watches is None:
            return blocks.message("Watching is not available in this process.")
        if isinstance(command, WatchCommand):
            return await self._guarded(watches.watch(command, who), command.destination)
        if isinstance(command, UnwatchCommand):
            return await self._guarded(watches.unwatch(command, who), command.destination)
        if isinstance(command, WatchingCommand):
            return await self._guarded(watches.watching(who), None)
        if isinstance(command, MuteCommand):
            return await self._guarded(watches.mute(command, who), command.destination)
        if isinstance(command, UnmuteCommand):
            return await self._guarded(watches.unmute(command, who), command.destination)
        if isinstance(command, AuditCommand):
            return await self._guarded(watches.audit(who), None)
        raise AssertionError(f"unhandled command {command!r}")

    async def for_next_page(self, button_value: str) -> Reply:
        try:
            command, position = _parse_next_page(button_value)
        except CommandError as exc:
            return blocks.message(str(exc))
        return await self._guarded(self._list(command, position), command.destination)

    async def _destinations(self) -> Reply:
        return blocks.destinations(await self._lister.destinations())

    async def _list(
        self, command: ListCommand, start: Position = START, who: Requester | None = None
    ) -> Reply:
        reference = command.destination
        watched = (
            await self._watches.only_watched_destination(who.channel_id)
            if reference is None and who is not None and self._watches is not None
            else None
        )
        if watched is not None:
            destination = watched
        elif reference is None:
            known = await self._lister.destinations()
            if not known:
                return blocks.destinations(known)  # explains how to get one
            if len(known) != 1:
                return blocks.message(
                    "Which destination? The token can see "
                    f"{len(known)} and this channel doesn't watch exactly one, so name one: "
                    f"`{LIST_USAGE}`. `/backups destinations` lists them."
                )
            destination = known[0]
        else:
            destination = await self._lister.resolve(reference)
        page = await self._lister.page(
            destination, backup_filter=command.backup_filter, limit=command.limit, start=start
        )
        return blocks.listing(
            page, backup_filter=command.backup_filter, limit=command.limit, now=self._clock()
        )

    async def _guarded(self, work: Awaitable[Reply], destination: str | None) -> Reply:
        try:
            return await work
        except NorthflankError as exc:
            log.warning("northflank request failed: %s", exc, extra={"error": type(exc).__name__})
            return blocks.message(explain.northflank_failure(exc, destination=destination))
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("could not answer a command", extra={"reference": reference})
            return blocks.message(explain.internal_failure(reference))


_STATUS_WORDS = frozenset(known_status_words())


def _plain_ascii(text: str) -> bool:
    return text.isascii() and text.isprintable() and len(text) <= MAX_BUTTON_VALUE


def _valid_addon(addon: str) -> bool:
    try:
        parse_addon(addon)
    except CommandError:
        return False
    return True


def _parse_next_page(value: str) -> tuple[ListCommand, Position]:
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
