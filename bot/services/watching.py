"""What `/backups watch|unwatch|watching|mute|unmute` do. Slack-free.

The listeners delegate here through `Answers`; this talks to the store, the
listing service (to find a destination) and the poller (to read it once),
and returns the reply to show. Posting the visible confirmation goes through
an `announce` callable so this module never touches Slack itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from bot.core.audit import AuditAction, AuditEntry, AuditOutcome
from bot.core.backups import Destination
from bot.core.commands import MuteCommand, UnmuteCommand, UnwatchCommand, WatchCommand
from bot.core.durations import format_duration
from bot.core.watches import Watch, WatchSettings
from bot.services.listing import BackupLister
from bot.services.poller import Poller
from bot.slack import alert_blocks, audit_blocks, blocks, explain
from bot.slack.blocks import Reply
from bot.slack.mrkdwn import code, date, escape
from bot.store import Store

# A channel that watches more than this is better served by several channels.
MAX_WATCHES_PER_CHANNEL = 50
# Pages read when a watch starts: enough to summarise most destinations in
# about a second; a bigger one is read on over the following polls.
PAGES_READ_ON_WATCH = 10
CANNOT_POST_HERE = (
    ":warning: I couldn't post in this channel (a private channel I'm not in?). "
    "Invite me with `/invite @backup-bot` so that alerts can arrive; until then they are kept."
)

Announce = Callable[[str, Reply], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class Requester:
    user_id: str
    channel_id: str

    def audit(
        self,
        action: AuditAction,
        target: str,
        at: datetime,
        *,
        outcome: AuditOutcome = AuditOutcome.DONE,
        detail: str | None = None,
    ) -> AuditEntry:
        """What this person did here, for the channel's audit trail."""
        return AuditEntry(
            channel=self.channel_id,
            user_id=self.user_id,
            action=action,
            target=target,
            at=at,
            outcome=outcome,
            detail=detail,
        )


class WatchService:
    def __init__(
        self,
        store: Store,
        lister: BackupLister,
        poller: Poller,
        *,
        admins: Collection[str],
        clock: Callable[[], datetime],
        announce: Announce | None = None,
    ) -> None:
        self._store = store
        self._lister = lister
        self._poller = poller
        self._admins = frozenset(admins)
        self._clock = clock
        self._announce = announce

    async def watch(self, command: WatchCommand, who: Requester) -> Reply:
        refusal = await self._refuse_unless_admin(who, AuditAction.WATCH, command.destination)
        if refusal is not None:
            return refusal
        destination = await self._lister.resolve(command.destination)
        existing = await self._store.watch(who.channel_id, destination.id)
        if existing is None:
            count = await self._store.count_channel_watches(who.channel_id)
            if count >= MAX_WATCHES_PER_CHANNEL:
                return blocks.message(
                    f"This channel already watches {count} destinations, the most I allow in "
                    "one channel. `/backups unwatch DEST` one first, or use another channel."
                )
        # Reading it now checks that it exists and that the token may read it,
        # before anything is saved; and gives the summary something to say.
        await self._poller.read_destination(destination.id, max_pages=PAGES_READ_ON_WATCH)
        settings = command.applied_to(existing.settings) if existing else command.settings
        now = self._clock()
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
        )
        scan = await self._store.scan_state(destination.id)
        summary = await self._store.destination_summary(
            destination.id, self._clock(), complete=scan.complete
        )
        # Present conditions (stuck, expiring soon) are raised at once; history is not.
        await self._poller.evaluate(destination.id)
        posted = True
        if created and self._announce is not None:
            posted = (
                await self._announce(
                    who.channel_id,
                    alert_blocks.watch_announcement(destination, watch.settings, who.user_id),
                )
                is not None
            )
        reply = alert_blocks.watch_summary(
            destination, watch.settings, summary, created=created, now=self._clock()
        )
        if not posted:
            # Saved all the same: alerts wait in the outbox until the bot can post.
            reply["blocks"].append(blocks.message(CANNOT_POST_HERE)["blocks"][0])
        return reply

    async def unwatch(self, command: UnwatchCommand, who: Requester) -> Reply:
        watch = await self._watch_to_change(command.destination, who, AuditAction.UNWATCH)
        if not isinstance(watch, Watch):
            return watch
        await self._store.remove_watch(
            who.channel_id,
            watch.destination_id,
            audit=who.audit(AuditAction.UNWATCH, _watch_name(watch), self._clock()),
        )
        return blocks.message(
            f"This channel no longer watches *{escape(watch.destination_name)}* "
            f"{code(watch.destination_id)}. Alerts already posted stay as they are."
        )

    async def watching(self, who: Requester) -> Reply:
        watches = await self._store.channel_watches(who.channel_id)
        statuses = await self._store.poll_statuses({w.destination_id for w in watches})
        items = [(w, statuses.get(w.destination_id)) for w in watches]
        return alert_blocks.watching_list(items, self._clock())

    async def mute(self, command: MuteCommand, who: Requester) -> Reply:
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
        return blocks.message(
            f"Muted *{escape(watch.destination_name)}* in this channel until {date(until)}. "
            "Alerts due meanwhile are recorded but not posted. "
            f"`/backups unmute {watch.destination_id}` ends it early."
        )

    async def unmute(self, command: UnmuteCommand, who: Requester) -> Reply:
        watch = await self._watch_to_change(command.destination, who, AuditAction.UNMUTE)
        if not isinstance(watch, Watch):
            return watch
        if not watch.muted(self._clock()):
            return blocks.message(f"*{escape(watch.destination_name)}* is not muted here.")
        await self._store.set_muted_until(
            who.channel_id,
            watch.destination_id,
            None,
            audit=who.audit(AuditAction.UNMUTE, _watch_name(watch), self._clock()),
        )
        return blocks.message(
            f"Unmuted *{escape(watch.destination_name)}*: new alerts are posted here again."
        )

    async def audit(self, who: Requester) -> Reply:
        """`/backups audit`: the channel's last configuration changes and actions."""
        entries = await self._store.audit_entries(who.channel_id)
        return audit_blocks.audit_list(entries, self._clock())

    async def only_watched_destination(self, channel_id: str) -> Destination | None:
        """The destination `list` means when DEST is left out, if the channel watches one."""
        watches = await self._store.channel_watches(channel_id)
        if len(watches) != 1:
            return None
        return Destination(id=watches[0].destination_id, name=watches[0].destination_name)

    # ----- helpers ---------------------------------------------------------------------

    async def _watch_to_change(
        self, reference: str, who: Requester, action: AuditAction
    ) -> Watch | Reply:
        """The channel's watch of `reference`, or the reply that says why not."""
        refusal = await self._refuse_unless_admin(who, action, reference)
        if refusal is not None:
            return refusal
        watch = await self._find(who.channel_id, reference)
        if watch is None:
            return await self._not_watched(who.channel_id, reference)
        return watch

    async def _refuse_unless_admin(
        self, who: Requester, action: AuditAction, reference: str
    ) -> Reply | None:
        if not self._admins or who.user_id in self._admins:
            return None
        await self._store.record_audit(
            who.audit(action, reference, self._clock(), outcome=AuditOutcome.REFUSED)
        )
        return blocks.message(
            "Only the bot's admins (BOT_ADMINS) can change what this channel watches."
            + explain.ask_admins(self._admins)
        )

    async def _find(self, channel_id: str, reference: str) -> Watch | None:
        watches = await self._store.channel_watches(channel_id)
        for watch in watches:
            if watch.destination_id == reference:
                return watch
        folded = reference.casefold()
        named = [w for w in watches if w.destination_name.casefold() == folded]
        return named[0] if len(named) == 1 else None

    async def _not_watched(self, channel_id: str, reference: str) -> Reply:
        watches = await self._store.channel_watches(channel_id)
        known = ", ".join(code(w.destination_id) for w in watches[:10])
        hint = f" It watches {known}." if known else " It watches nothing yet."
        return blocks.message(f"This channel doesn't watch {code(reference, 40)}.{hint}")


def _named(name: str, destination_id: str) -> str:
    """ "nightly (dest-1)", or just the id when the name is the id (unescaped)."""
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
