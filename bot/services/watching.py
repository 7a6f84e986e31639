"""What `/backups watch|unwatch|watching|mute|unmute|audit` do, as outcomes.

Each use case talks to the store, the listing service (to find a
destination) and the poller (to read it once), and returns what happened as
a domain outcome below. The chat surface renders it (Slack:
bot/slack/render/watch_replies.py). The visible announcement that a channel
now watches a destination goes out through `announce`, a port the
composition root wires to delivery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.audit import AuditAction, AuditEntry, AuditOutcome, Requester
from bot.core.backups import Destination
from bot.core.commands import MuteCommand, UnmuteCommand, UnwatchCommand, WatchCommand
from bot.core.connections import shown_id
from bot.core.durations import format_duration
from bot.core.messages import WatchAnnouncement
from bot.core.rules import missed_runs
from bot.core.watches import DestinationSummary, PollStatus, Watch, WatchSettings
from bot.services.admins import AdminDirectory, admin_directory
from bot.services.connections import NorthflankConnections
from bot.services.poller import Poller
from bot.store import Store, TooManyWatchesError

# A channel that watches more than this is better served by several channels.
MAX_WATCHES_PER_CHANNEL = 50
# Pages read when a watch starts: enough to summarise most destinations in
# about a second; a bigger one is read on over the following polls.
PAGES_READ_ON_WATCH = 10
# `NotWatched` names at most this many of what the channel does watch.
WATCHED_NAMED = 10

# Posts the announcement in a channel; False when it could not be posted.
Announce = Callable[[str, WatchAnnouncement], Awaitable[bool]]


# ----- outcomes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NotAnAdmin:
    """BOT_ADMINS is set and the requester is not in it; nothing changed."""

    admins: frozenset[str]


@dataclass(frozen=True, slots=True)
class TooManyWatches:
    count: int


@dataclass(frozen=True, slots=True)
class Watching:
    """The channel watches the destination now (`created`: it did not before)."""

    destination: Destination
    settings: WatchSettings
    summary: DestinationSummary
    created: bool
    # False when the channel announcement could not be posted (the bot is not in it).
    announced: bool


@dataclass(frozen=True, slots=True)
class NotWatched:
    reference: str
    # The ids the channel does watch (the first WATCHED_NAMED).
    watched: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Unwatched:
    watch: Watch


@dataclass(frozen=True, slots=True)
class Muted:
    watch: Watch
    until: datetime


@dataclass(frozen=True, slots=True)
class NotMuted:
    watch: Watch


@dataclass(frozen=True, slots=True)
class Unmuted:
    watch: Watch


@dataclass(frozen=True, slots=True)
class WatchList:
    """`/backups watching`: each watch of the channel with how polling it goes."""

    items: tuple[tuple[Watch, PollStatus | None], ...]


@dataclass(frozen=True, slots=True)
class AuditTrail:
    entries: tuple[AuditEntry, ...]


WatchOutcome = (
    NotAnAdmin
    | TooManyWatches
    | Watching
    | NotWatched
    | Unwatched
    | Muted
    | NotMuted
    | Unmuted
    | WatchList
    | AuditTrail
)


# ----- the service -------------------------------------------------------------------------


class WatchService:
    def __init__(
        self,
        store: Store,
        connections: NorthflankConnections,
        poller: Poller,
        *,
        admins: AdminDirectory | Collection[str],
        clock: Callable[[], datetime],
        announce: Announce | None = None,
    ) -> None:
        self._store = store
        self._connections = connections
        self._poller = poller
        self._admins = admin_directory(admins)
        self._clock = clock
        self._announce = announce

    async def watch(self, command: WatchCommand, who: Requester) -> WatchOutcome:
        refusal = await self._refuse_unless_admin(who, AuditAction.WATCH, command.destination)
        if refusal is not None:
            return refusal
        access = await self._connections.require(who.channel_id)
        # Its id is the store's destination key for this connection (bot/core/connections.py).
        destination = await access.lister.resolve(command.destination)
        existing = await self._store.watch(who.channel_id, destination.id)
        if existing is None:
            count = await self._store.count_channel_watches(who.channel_id)
            if count >= MAX_WATCHES_PER_CHANNEL:
                return TooManyWatches(count)
        # Reading it now checks that it exists and that the token may read it,
        # before anything is saved; and gives the summary something to say.
        await self._poller.read_destination(destination.id, max_pages=PAGES_READ_ON_WATCH)
        settings = command.applied_to(existing.settings) if existing else command.settings
        now = self._clock()
        try:
            watch, created = await self._store.save_watch(
                who.channel_id,
                destination,
                settings,
                who.user_id,
                now,
                audit=who.audit(
                    AuditAction.WATCH,
                    _named(destination.name, destination.id),
                    now,
                    detail=("started: " if existing is None else "changed: ")
                    + _settings_detail(settings),
                ),
                limit=MAX_WATCHES_PER_CHANNEL,
            )
        except TooManyWatchesError as full:
            # Another `watch` in this channel took the last place meanwhile.
            return TooManyWatches(full.count)
        scan = await self._store.scan_state(destination.id)
        now = self._clock()
        summary = await self._store.destination_summary(destination.id, now, complete=scan.complete)
        # Missed is a present condition: say so now, beside the failing addons.
        state = await self._store.destination_state(
            destination.id, now, lookback=timedelta(0), horizon=timedelta(0)
        )
        summary = replace(summary, missed=tuple(missed_runs(state.addons, now)))
        # Present conditions (stuck, expiring soon) are raised at once; history is not.
        await self._poller.evaluate(destination.id)
        announced = True
        if created and self._announce is not None:
            announced = await self._announce(
                who.channel_id, WatchAnnouncement(destination, watch.settings, who.user_id)
            )
        return Watching(destination, watch.settings, summary, created, announced)

    async def unwatch(self, command: UnwatchCommand, who: Requester) -> WatchOutcome:
        watch = await self._watch_to_change(command.destination, who, AuditAction.UNWATCH)
        if not isinstance(watch, Watch):
            return watch
        await self._store.remove_watch(
            who.channel_id,
            watch.destination_id,
            audit=who.audit(AuditAction.UNWATCH, _watch_name(watch), self._clock()),
        )
        return Unwatched(watch)

    async def watching(self, who: Requester) -> WatchOutcome:
        watches = await self._store.channel_watches(who.channel_id)
        statuses = await self._store.poll_statuses({w.destination_id for w in watches})
        return WatchList(tuple((w, statuses.get(w.destination_id)) for w in watches))

    async def mute(self, command: MuteCommand, who: Requester) -> WatchOutcome:
        watch = await self._watch_to_change(command.destination, who, AuditAction.MUTE)
        if not isinstance(watch, Watch):
            return watch
        until = self._clock() + command.duration
        await self._store.set_muted_until(
            who.channel_id,
            watch.destination_id,
            until,
            audit=who.audit(
                AuditAction.MUTE,
                _watch_name(watch),
                self._clock(),
                detail=f"for {format_duration(command.duration)}, until {until:%Y-%m-%d %H:%M} UTC",
            ),
        )
        return Muted(watch, until)

    async def unmute(self, command: UnmuteCommand, who: Requester) -> WatchOutcome:
        watch = await self._watch_to_change(command.destination, who, AuditAction.UNMUTE)
        if not isinstance(watch, Watch):
            return watch
        if not watch.muted(self._clock()):
            return NotMuted(watch)
        await self._store.set_muted_until(
            who.channel_id,
            watch.destination_id,
            None,
            audit=who.audit(AuditAction.UNMUTE, _watch_name(watch), self._clock()),
        )
        return Unmuted(watch)

    async def audit(self, who: Requester) -> WatchOutcome:
        """`/backups audit`: the channel's last configuration changes and actions."""
        return AuditTrail(tuple(await self._store.audit_entries(who.channel_id)))

    async def only_watched_destination(self, channel_id: str) -> Destination | None:
        """The destination `list` means when DEST is left out, if the channel watches one."""
        watches = await self._store.channel_watches(channel_id)
        if len(watches) != 1:
            return None
        return Destination(id=watches[0].destination_id, name=watches[0].destination_name)

    # ----- helpers ---------------------------------------------------------------------

    async def _watch_to_change(
        self, reference: str, who: Requester, action: AuditAction
    ) -> Watch | NotAnAdmin | NotWatched:
        """The channel's watch of `reference`, or the outcome that says why not."""
        refusal = await self._refuse_unless_admin(who, action, reference)
        if refusal is not None:
            return refusal
        watches = await self._store.channel_watches(who.channel_id)
        watch = _find(watches, reference)
        if watch is None:
            return NotWatched(
                reference, tuple(shown_id(w.destination_id) for w in watches[:WATCHED_NAMED])
            )
        return watch

    async def _refuse_unless_admin(
        self, who: Requester, action: AuditAction, reference: str
    ) -> NotAnAdmin | None:
        admins = await self._admins.of(who.channel_id)
        if not admins or who.user_id in admins:
            return None
        await self._store.record_audit(
            who.audit(action, reference, self._clock(), outcome=AuditOutcome.REFUSED)
        )
        return NotAnAdmin(admins)


def _find(watches: Collection[Watch], reference: str) -> Watch | None:
    """A watch by destination id, or by its name when exactly one has that name."""
    for watch in watches:
        if reference in (watch.destination_id, shown_id(watch.destination_id)):
            return watch
    folded = reference.casefold()
    named = [w for w in watches if w.destination_name.casefold() == folded]
    return named[0] if len(named) == 1 else None


def _named(name: str, destination_id: str) -> str:
    """ "nightly (dest-1)", or just the id when the name is the id (unescaped)."""
    destination_id = shown_id(destination_id)
    return destination_id if name == destination_id else f"{name} ({destination_id})"


def _watch_name(watch: Watch) -> str:
    return _named(watch.destination_name, watch.destination_id)


def _settings_detail(settings: WatchSettings) -> str:
    """The settings as they would be typed, for the audit trail (plain text)."""
    events = ",".join(sorted(event.value for event in settings.events)) or "none"
    parts = [
        f"events={events}",
        f"expiry={format_duration(settings.expiry)}",
        f"stuck={format_duration(settings.stuck)}",
        f"remind={format_duration(settings.remind) if settings.remind else 'off'}",
    ]
    if settings.quiet is not None:
        parts.append(f"quiet={settings.quiet.to_text()}")
    return " ".join(parts)
