"""Outbox -> Slack: paced, retried, threaded, and never dropped silently.

Each stage is small and named, as in Alertmanager's notification pipeline:
`pending_deliveries` hands out the head of each channel's queue (so order
holds), `_pace` keeps to about one message a second per channel, `_send`
renders from the ledger and calls Slack, and the outcome is recorded: the
message ts on success, a later attempt on 429/5xx/network trouble, the
channel parked when we cannot get in, the watch disabled when the channel
is gone. Every alert not delivered leaves a log line and a row saying why.
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
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.watches import WatchState
from bot.runtime.metrics import DeliveryStats
from bot.services.replica import Replica
from bot.slack.alert_blocks import AlertContext, AlertView, alert_message, recovery_reply
from bot.slack.blocks import Reply
from bot.store import Claim, OutboxItem, OutboxKind, Store, StoredAlert

log = logging.getLogger(__name__)

# Slack allows about one message a second per channel, with short bursts.
PER_CHANNEL_INTERVAL = 1.0
MAX_BACKOFF = timedelta(minutes=10)
# A row that fails this often for reasons of our own is set aside (and logged).
MAX_INTERNAL_FAILURES = 8
# How long a pass waits when Slack says 429 without Retry-After.
DEFAULT_RETRY_AFTER = 30.0
# Slack errors that mean "we may never post here again", and what they mean.
CHANNEL_GONE = {
    "channel_not_found": "the channel no longer exists (or the bot cannot see it)",
    "is_archived": "the channel is archived",
}
# Slack refuses the blocks themselves; a plain-text version may still go out.
BLOCKS_REFUSED = {"invalid_blocks", "msg_too_long", "msg_blocks_too_long", "invalid_blocks_format"}
# The edit cannot be made; the thread reply already carries the news.
EDIT_IMPOSSIBLE = {"message_not_found", "cant_update_message", "edit_window_closed"}
# The bot's own credentials: a configuration problem, retried slowly, loudly.
AUTH_PROBLEMS = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}


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
        slack: AsyncWebClient,
        *,
        clock: Callable[[], datetime],
        per_channel_interval: float = PER_CHANNEL_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        replica: Replica | None = None,
        write_buttons: bool = False,
    ) -> None:
        self._store = store
        # Retain / Start backup / Abort appear only when someone may press them (BOT_ADMINS).
        self._write_buttons = write_buttons
        self._slack = slack
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
            if not self._ready(item.channel):
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

    def _ready(self, channel: str) -> bool:
        last = self._last_post.get(channel)
        return last is None or self._monotonic() - last >= self._interval

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
        except _JoinRefusedError as exc:
            return await self._park(item, exc.error)
        except SlackApiError as exc:
            return await self._slack_refused(item, exc)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return await self._retry(item, f"network: {type(exc).__name__}", None)
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
        context = await self._context(stored[0])
        thread_ts: str | None = None
        if item.kind is OutboxKind.THREAD_REPLY:
            recovery = stored[0]
            resolved = await self._store.alerts(recovery.alert.resolves)
            parent = (
                await self._store.alerts([item.parent_alert_id])
                if item.parent_alert_id is not None
                else []
            )
            thread_ts = parent[0].message_ts if parent else None
            reply = recovery_reply(
                recovery.alert, [r.alert for r in resolved], context, self._clock()
            )
        else:
            reply = alert_message(await self._views(stored), context, self._clock())
        ts = await self._post(item.channel, reply, thread_ts=thread_ts)
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
            context = await self._context(in_message[0])
            reply = alert_message(await self._views(in_message), context, self._clock())
            try:
                await self._slack.chat_update(
                    channel=channel, ts=ts, text=reply["text"], blocks=reply["blocks"]
                )
            except SlackApiError as exc:
                if _error_of(exc) not in EDIT_IMPOSSIBLE:
                    raise
                log.info("an alert message could not be edited: %s", _error_of(exc))
            self._last_post[channel] = self._monotonic()
        await self._store.absorb([row.id for row in later], into=item.id, now=self._clock())
        await self._store.mark_delivered(item.id, now=self._clock(), claim=self._claim())
        absorbed = f", {len(later)} later edit(s) with them" if later else ""
        return f"{len(messages)} message(s) edited{absorbed}"

    async def _send_note(self, item: OutboxItem) -> str:
        """A message rendered when it was queued, threaded under its alert when posted."""
        if not item.payload:
            await self._store.mark_delivered(item.id, now=self._clock(), claim=self._claim())
            return "nothing to send"
        parent = (
            await self._store.alerts([item.parent_alert_id])
            if item.parent_alert_id is not None
            else []
        )
        thread_ts = parent[0].message_ts if parent else None
        ts = await self._post(item.channel, item.payload, thread_ts=thread_ts)
        await self._store.mark_delivered(item.id, now=self._clock(), claim=self._claim())
        return f"ts {ts}"

    async def _views(self, stored: list[StoredAlert]) -> list[AlertView]:
        """The alerts as a message shows them now: acknowledged, snoozed, resolved."""
        now = self._clock()
        snoozes = await self._store.active_snoozes(stored[0].channel, now) if stored else []
        views = []
        for entry in stored:
            snooze = next((s for s in snoozes if s.covers(entry.alert, now)), None)
            views.append(
                AlertView(
                    entry.alert,
                    entry.resolved_at,
                    alert_id=entry.id,
                    acknowledged_by=entry.acknowledged_by,
                    acknowledged_at=entry.acknowledged_at,
                    snoozed_until=snooze.until if snooze else None,
                    snoozed_by=snooze.created_by if snooze else None,
                )
            )
        return views

    async def _post(self, channel: str, reply: Reply, *, thread_ts: str | None = None) -> str:
        """chat.postMessage, joining the channel first if Slack says we are not in it."""
        try:
            return await self._post_once(channel, reply, thread_ts)
        except SlackApiError as exc:
            error = _error_of(exc)
            if error == "not_in_channel":
                # Raises if the join is refused; the caller parks the channel.
                await self._join(channel)
                return await self._post_once(channel, reply, thread_ts)
            if error in BLOCKS_REFUSED:
                log.warning("Slack refused an alert's blocks (%s); sending plain text", error)
                return await self._post_once(channel, {"text": reply["text"]}, thread_ts)
            raise

    async def _post_once(self, channel: str, reply: Reply, thread_ts: str | None) -> str:
        arguments: dict[str, Any] = {
            "channel": channel,
            "text": reply["text"],
            # Alerts mention no one by accident; names are escaped too.
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if reply.get("blocks"):
            arguments["blocks"] = reply["blocks"]
        if thread_ts:
            arguments["thread_ts"] = thread_ts
        self._last_post[channel] = self._monotonic()
        response = await self._slack.chat_postMessage(**arguments)
        return str(response["ts"])

    async def _join(self, channel: str) -> None:
        try:
            await self._slack.conversations_join(channel=channel)
        except SlackApiError as exc:
            raise _JoinRefusedError(_error_of(exc)) from exc

    async def announce(self, channel: str, reply: Reply) -> str | None:
        """Post a one-off message now (the confirmation of `watch`). None if it failed."""
        try:
            return await self._post(channel, reply)
        except (SlackApiError, _JoinRefusedError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("could not post to a channel: %s", _describe(exc))
            return None

    # ----- outcomes --------------------------------------------------------------------

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

    async def _slack_refused(self, item: OutboxItem, exc: SlackApiError) -> Outcome:
        error = _error_of(exc)
        status = exc.response.status_code if exc.response is not None else None
        if status == 429 or error == "ratelimited":
            retry_after = _retry_after(exc)
            return await self._retry(item, "rate limited by Slack", retry_after)
        if status is not None and status >= 500:
            return await self._retry(item, f"Slack answered {status}", None)
        if error in CHANNEL_GONE:
            reason = CHANNEL_GONE[error]
            await self._store.set_channel_state(item.channel, WatchState.DISABLED, reason)
            await self._store.give_up(item.id, reason=reason, now=self._clock())
            log.warning(
                "alert not delivered and watches disabled: %s",
                reason,
                extra={"channel": item.channel, "outbox_id": item.id},
            )
            return Outcome(item.id, item.channel, item.kind, "disabled", error)
        if error in AUTH_PROBLEMS:
            log.error("Slack rejects SLACK_BOT_TOKEN (%s); alerts wait in the outbox", error)
            return await self._retry(
                item, f"Slack token problem: {error}", MAX_BACKOFF.total_seconds()
            )
        if error in BLOCKS_REFUSED or error in {"no_text", "invalid_arguments"}:
            await self._store.give_up(
                item.id, reason=f"Slack refused it: {error}", now=self._clock()
            )
            log.error(
                "an alert could not be delivered: Slack refused it (%s)",
                error,
                extra={"channel": item.channel, "outbox_id": item.id},
            )
            return Outcome(item.id, item.channel, item.kind, "failed", error)
        # Anything else may be temporary (fatal_error, internal_error, ...): try again later.
        return await self._retry(item, f"Slack error: {error}", None)

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

    async def _context(self, stored: StoredAlert) -> AlertContext:
        watch = await self._store.watch_by_id(stored.watch_id) if stored.watch_id else None
        if watch is None:
            return AlertContext(
                stored.destination_id, stored.destination_id, None, self._write_buttons
            )
        return AlertContext(
            watch.destination_id, watch.destination_name, watch.settings, self._write_buttons
        )


class _JoinRefusedError(Exception):
    """conversations.join failed: the bot cannot get into the channel by itself."""

    def __init__(self, error: str) -> None:
        super().__init__(f"conversations.join failed: {error}")
        self.error = error


def _error_of(exc: SlackApiError) -> str:
    response = exc.response
    if response is None:
        return "unknown"
    try:
        return str(response.get("error") or "unknown")
    except (AttributeError, TypeError):
        return "unknown"


def _retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers if exc.response is not None else {}
    raw = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    try:
        return max(0.0, float(raw)) if raw is not None else DEFAULT_RETRY_AFTER
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return _error_of(exc)
    if isinstance(exc, _JoinRefusedError):
        return exc.error
    return type(exc).__name__
