"""Outbox -> chat: paced, retried, threaded, and never dropped silently.

Each stage is small and named, as in Alertmanager's notification pipeline:
`pending_deliveries` hands out the head of each channel's queue (so order
holds), `_ready` keeps to about one message a second per channel, `_send`
composes the message from the ledger (bot/services/outbox_messages.py) and
hands it to the chat surface (the `ChatSender` port, bot/services/chat.py),
and the outcome is recorded: the message ts on success, a later attempt on
429/5xx/network trouble, the channel parked when the bot cannot get in, the
watch disabled when the channel is gone. Every alert not delivered leaves a
log line and a row saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.messages import (
    ChannelMessage,
    WatchAnnouncement,
    WeeklyReportNote,
    note_from_json,
)
from bot.core.watches import WatchState
from bot.services.chat import (
    CannotJoin,
    ChannelGone,
    ChatError,
    ChatSender,
    CredentialsRejected,
    EditImpossible,
    MessageRefused,
    RateLimited,
)
from bot.services.outbox_messages import OutboxMessages
from bot.services.replica import Replica
from bot.services.stats import DeliveryStats
from bot.store import Claim, OutboxItem, OutboxKind, Store

log = logging.getLogger(__name__)

# Slack allows about one message a second per channel, with short bursts.
PER_CHANNEL_INTERVAL = 1.0
MAX_BACKOFF = timedelta(minutes=10)
# A row that fails this often for reasons of our own is set aside (and logged).
MAX_INTERNAL_FAILURES = 8


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one outbox row, for logs, tests and metrics."""

    item_id: int
    channel: str
    kind: OutboxKind
    result: str  # delivered | retry | parked | disabled | failed
    detail: str = ""


class Delivery:
    def __init__(
        self,
        store: Store,
        sender: ChatSender,
        *,
        clock: Callable[[], datetime],
        per_channel_interval: float = PER_CHANNEL_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        replica: Replica | None = None,
        write_buttons: bool = False,
    ) -> None:
        self._store = store
        self._sender = sender
        self._messages = OutboxMessages(store, clock=clock, write_buttons=write_buttons)
        self._clock = clock
        self._interval = per_channel_interval
        self._monotonic = monotonic
        self._last_post: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._replica = replica
        self.stats = DeliveryStats()

    def wake(self) -> None:
        """New rows are in the outbox (the poller calls this)."""
        self._wake.set()

    # ----- the loop --------------------------------------------------------------------

    async def run(self, *, idle_check: float = 5.0) -> None:
        """Deliver until stopped. Rows that are not due yet are picked up on time."""
        while not self._stopping:
            try:
                outcomes = await self.deliver_due()
                if outcomes:
                    continue
                wait = await self._seconds_until_next(idle_check)
            except Exception:
                # The store may be briefly unreachable; nothing is lost, it is all
                # in the outbox. The loop itself must outlive any such error.
                log.exception("a delivery pass failed; trying again shortly")
                wait = idle_check
            await self._sleep(wait)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def deliver_due(self) -> list[Outcome]:
        """One pass: the due head of each channel's queue, paced per channel.

        With a replica the heads are claimed first, so each message is posted
        by one replica only; a replica keeps a channel while it has messages
        for it (see `mark_delivered`), which keeps the pacing in one place.
        """
        items = await self._store.pending_deliveries(self._clock(), claim=self._claim())
        outcomes = []
        for item in items:
            if self._stopping:
                break
            if not self._ready(item):
                continue
            outcomes.append(await self.deliver(item))
        return outcomes

    async def drain(self, *, max_passes: int = 1000) -> list[Outcome]:
        """Deliver until nothing is due now (tests and `check` use this)."""
        done: list[Outcome] = []
        for _ in range(max_passes):
            outcomes = await self.deliver_due()
            if not outcomes:
                if await self._store.pending_deliveries(self._clock()):
                    await asyncio.sleep(0.05)  # only pacing holds something back
                    continue
                break
            done.extend(outcomes)
        return done

    async def _seconds_until_next(self, idle_check: float) -> float:
        due = await self._store.next_delivery_at()
        if due is None:
            return idle_check
        seconds = (due - self._clock()).total_seconds()
        return min(idle_check, max(0.05, seconds))

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)
        self._wake.clear()

    def _ready(self, item: OutboxItem) -> bool:
        last = self._last_post.get(item.channel)
        if last is not None:
            return self._monotonic() - last >= self._interval
        # Nothing posted there by this process yet: the store says when the channel
        # last had a message, so a process restarting in a loop still keeps the pace.
        recorded = item.channel_last_post
        return recorded is None or self._clock() - recorded >= timedelta(seconds=self._interval)

    # ----- one row ---------------------------------------------------------------------

    async def deliver(self, item: OutboxItem) -> Outcome:
        self.stats.attempts[item.kind.value] += 1
        if self._replica is not None:
            self._replica.delivering.add(item.id)  # renewed while Slack takes its time
        try:
            outcome = await self._deliver(item)
        finally:
            if self._replica is not None:
                self._replica.delivering.discard(item.id)
        self.stats.outcomes[outcome.result] += 1
        return outcome

    def _claim(self) -> Claim | None:
        return self._replica.claim() if self._replica is not None else None

    async def _deliver(self, item: OutboxItem) -> Outcome:
        try:
            detail = await self._send(item)
        except ChatError as exc:
            return await self._refused(item, exc)
        except Exception as exc:
            # Our own bug, or the store failing mid-way. Retried like anything
            # else, but a row that keeps failing must not block its channel forever.
            log.exception("delivering an alert failed", extra={"outbox_id": item.id})
            if item.attempts + 1 >= MAX_INTERNAL_FAILURES:
                reason = f"gave up after {MAX_INTERNAL_FAILURES} internal errors: {exc!r}"[:500]
                await self._store.give_up(item.id, reason=reason, now=self._clock())
                return Outcome(item.id, item.channel, item.kind, "failed", reason)
            return await self._retry(item, f"internal error: {type(exc).__name__}", None)
        return Outcome(item.id, item.channel, item.kind, "delivered", detail)

    async def _send(self, item: OutboxItem) -> str:
        if item.kind is OutboxKind.UPDATE:
            return await self._send_updates(item)
        if item.kind is OutboxKind.NOTE:
            return await self._send_note(item)
        stored = await self._store.alerts(item.alert_ids)
        if not stored:
            await self._store.mark_delivered(item.id, now=self._clock(), claim=self._claim())
            return "nothing left to send"
        message: ChannelMessage
        if item.kind is OutboxKind.THREAD_REPLY:
            message = await self._messages.recovery(stored[0])
        else:
            message = await self._messages.digest(stored)
        thread_ts = await self._messages.thread_of(item)
        ts = await self._post(item.channel, message, thread_ts=thread_ts)
        await self._store.mark_delivered(
            item.id,
            now=self._clock(),
            message_ts=ts,
            alert_ids=[s.id for s in stored],
            claim=self._claim(),
        )
        return f"ts {ts}"

    async def _send_updates(self, item: OutboxItem) -> str:
        # Fifty people pressing Acknowledge on one digest queue fifty edits; each
        # re-renders the whole message from the ledger, so the first shows them all.
        later = await self._store.later_updates(item.channel, item.id)
        alert_ids = {*item.alert_ids, *(i for row in later for i in row.alert_ids)}
        stored = await self._store.alerts(alert_ids)
        messages = sorted({(s.channel, s.message_ts) for s in stored if s.message_ts})
        for channel, ts in messages:
            assert ts is not None
            in_message = await self._store.message_alerts(channel, ts)
            try:
                await self._sender.edit(channel, ts, await self._messages.digest(in_message))
            except EditImpossible as exc:
                log.info("an alert message could not be edited: %s", exc.code)
            self._last_post[channel] = self._monotonic()
        await self._store.absorb([row.id for row in later], into=item.id, now=self._clock())
        await self._store.mark_delivered(item.id, now=self._clock(), claim=self._claim())
        absorbed = f", {len(later)} later edit(s) with them" if later else ""
        return f"{len(messages)} message(s) edited{absorbed}"

    async def _send_note(self, item: OutboxItem) -> str:
        """A note decided when it was queued, threaded under its alert when posted."""
        if not item.payload:
            await self._store.mark_delivered(item.id, now=self._clock(), claim=self._claim())
            return "nothing to send"
        note = note_from_json(item.payload)
        message: ChannelMessage
        if isinstance(note, WeeklyReportNote):
            message = await self._messages.weekly_report(note)
        else:
            message = note
        thread_ts = await self._messages.thread_of(item)
        ts = await self._post(item.channel, message, thread_ts=thread_ts)
        await self._store.mark_delivered(item.id, now=self._clock(), claim=self._claim())
        return f"ts {ts}"

    async def _post(
        self, channel: str, message: ChannelMessage, *, thread_ts: str | None = None
    ) -> str:
        self._last_post[channel] = self._monotonic()
        return await self._sender.post(channel, message, thread_ts=thread_ts)

    async def announce(self, channel: str, announcement: WatchAnnouncement) -> bool:
        """Post a one-off message now (the confirmation of `watch`); False if it failed."""
        try:
            await self._post(channel, announcement)
        except ChatError as exc:
            log.warning("could not post to a channel: %s", exc.code)
            return False
        return True

    # ----- outcomes --------------------------------------------------------------------

    async def _refused(self, item: OutboxItem, exc: ChatError) -> Outcome:
        """What a refusal by the chat surface means for this row, and for its channel."""
        if isinstance(exc, CannotJoin):
            return await self._park(item, exc.code)
        if isinstance(exc, RateLimited):
            return await self._retry(item, str(exc), exc.retry_after)
        if isinstance(exc, ChannelGone):
            reason = str(exc)
            await self._store.set_channel_state(item.channel, WatchState.DISABLED, reason)
            await self._store.give_up(item.id, reason=reason, now=self._clock())
            log.warning(
                "alert not delivered and watches disabled: %s",
                reason,
                extra={"channel": item.channel, "outbox_id": item.id},
            )
            return Outcome(item.id, item.channel, item.kind, "disabled", exc.code)
        if isinstance(exc, CredentialsRejected):
            # A configuration problem: retried slowly, and loudly.
            log.error("%s; alerts wait in the outbox", exc)
            return await self._retry(item, str(exc), MAX_BACKOFF.total_seconds())
        if isinstance(exc, MessageRefused):
            await self._store.give_up(item.id, reason=str(exc), now=self._clock())
            log.error(
                "an alert could not be delivered: %s",
                exc,
                extra={"channel": item.channel, "outbox_id": item.id},
            )
            return Outcome(item.id, item.channel, item.kind, "failed", exc.code)
        # Anything else may be temporary (a 5xx, the network, an unknown error).
        return await self._retry(item, str(exc), None)

    async def _park(self, item: OutboxItem, error: str) -> Outcome:
        reason = (
            f"I'm not a member of this channel and could not join it ({error}). "
            "Invite me (`/invite @backup-bot`), then run `/backups watch` again."
        )
        await self._store.park_channel(item.channel, reason)
        log.warning(
            "alerts held back: the bot cannot join the channel",
            extra={"channel": item.channel, "error": error},
        )
        return Outcome(item.id, item.channel, item.kind, "parked", error)

    async def _retry(self, item: OutboxItem, reason: str, retry_after: float | None) -> Outcome:
        if retry_after is None:
            # Exponential backoff with jitter: 2s, 4s, 8s ... capped at 10 minutes.
            ceiling = min(MAX_BACKOFF.total_seconds(), 2.0 * 2 ** min(item.attempts, 16))
            retry_after = ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 - jitter
        at = self._clock() + timedelta(seconds=retry_after)
        await self._store.retry_later(item.id, at=at, error=reason)
        level = logging.WARNING if item.attempts >= 5 else logging.INFO
        log.log(
            level,
            "alert delivery will be retried: %s",
            reason,
            extra={"channel": item.channel, "attempt": item.attempts + 1, "retry_in": retry_after},
        )
        return Outcome(item.id, item.channel, item.kind, "retry", reason)
