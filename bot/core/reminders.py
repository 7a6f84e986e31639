"""Which open alerts to remind about, and how held alerts are released. Pure.

A failed, stuck or missed alert that nobody acknowledged is reminded in its
own thread every `remind=` interval, counted from the last time the channel
heard of it (the post, or the previous reminder). Reminders wait while the
watch is muted, snoozed for that alert or inside its quiet hours, and stop
for good once the alert is acknowledged or its addon recovers (the store
stops offering it then).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.digests import group_for_digest
from bot.core.handling import ReminderCandidate, Snooze, StoredAlert
from bot.core.watches import Watch


@dataclass(frozen=True, slots=True)
class ReminderDue:
    """One reminder: the open alerts of one posted message."""

    channel: str
    watch: Watch
    alerts: tuple[StoredAlert, ...]
    # Since the message was first posted, for the reminder's words.
    open_for: timedelta
    remind_every: timedelta


@dataclass(frozen=True, slots=True)
class Release:
    """What one watch's quiet hours held, as the messages to post now."""

    channel: str
    # Ledger ids: each inner list becomes one digest message.
    digests: list[list[int]]
    # (recovery id, the first problem it resolves: it threads under that one).
    recoveries: list[tuple[int, int | None]]


def due_reminders(
    candidates: Sequence[ReminderCandidate], snoozes: Sequence[Snooze], now: datetime
) -> list[ReminderDue]:
    groups: dict[tuple[str, str], list[ReminderCandidate]] = {}
    for candidate in candidates:
        if _due(candidate, snoozes, now):
            stored = candidate.stored
            assert stored.message_ts is not None  # the store offers posted alerts only
            groups.setdefault((stored.channel, stored.message_ts), []).append(candidate)
    reminders = []
    for (channel, _ts), members in groups.items():
        watch = members[0].watch
        assert watch.settings.remind is not None
        # The ledger row is written as the alert is queued: when it was (first) posted.
        first_posted = min(m.stored.created_at for m in members)
        reminders.append(
            ReminderDue(
                channel=channel,
                watch=watch,
                alerts=tuple(m.stored for m in members),
                open_for=now - first_posted,
                remind_every=watch.settings.remind,
            )
        )
    return reminders


def _due(candidate: ReminderCandidate, snoozes: Sequence[Snooze], now: datetime) -> bool:
    watch, stored = candidate.watch, candidate.stored
    every = watch.settings.remind
    if every is None or watch.muted(now) or stored.acknowledged_at is not None:
        return False
    quiet = watch.settings.quiet
    if quiet is not None and quiet.held_until(now) is not None:
        return False  # due again the moment the window ends
    if any(s.channel == stored.channel and s.covers(stored.alert, now) for s in snoozes):
        return False
    last = stored.last_notified_at or stored.created_at
    return now - last >= every


def releases(held: Sequence[StoredAlert]) -> list[Release]:
    """Held alerts grouped per channel and watch: the news as digests, recoveries threaded.

    The order is kept (oldest first), so a problem's message is queued
    before the recovery that threads under it.
    """
    by_watch: dict[tuple[str, int | None, str], list[StoredAlert]] = {}
    for stored in held:
        key = (stored.channel, stored.watch_id, stored.destination_id)
        by_watch.setdefault(key, []).append(stored)
    found = []
    for (channel, _watch, _destination), members in by_watch.items():
        news = [stored for stored in members if not stored.alert.is_recovery]
        recoveries = [
            (stored.id, stored.alert.resolves[0] if stored.alert.resolves else None)
            for stored in members
            if stored.alert.is_recovery
        ]
        digests = [[stored.id for stored in group] for group in group_for_digest(news)]
        found.append(Release(channel=channel, digests=digests, recoveries=recoveries))
    return found
