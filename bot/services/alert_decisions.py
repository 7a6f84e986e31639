"""What one watching channel should hear after a poll, and how: the rules' verdict
grouped into digests, with snoozes, mutes and quiet hours applied.

No I/O: the poller reads what this needs before it asks Northflank and records
what it returns in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core import rules
from bot.core.alerts import Alert, Ledger
from bot.core.destination_state import DestinationState
from bot.core.digests import group_for_digest
from bot.core.handling import Snooze
from bot.core.watches import PollStatus, Watch
from bot.store import ChannelAlerts


def decide_channel_alerts(
    watch: Watch,
    state: DestinationState | None,
    ledger: Ledger,
    status: PollStatus,
    *,
    problem: str | None,
    snoozes: Sequence[Snooze],
    now: datetime,
) -> tuple[list[Alert], ChannelAlerts | None]:
    """Every alert the rules raise for this channel, and the batch to record (None: none).

    `state` is None when the poll failed: then only Northflank's health is judged.
    """
    alerts = rules.evaluate(state, watch, ledger, now) if state is not None else []
    alerts += rules.northflank_health(
        watch,
        ledger,
        consecutive_failures=status.consecutive_failures,
        failing_since=status.failing_since,
        problem=problem,
        now=now,
    )
    if not alerts:
        return alerts, None
    recoveries = [a for a in alerts if a.is_recovery]
    news = [a for a in alerts if not a.is_recovery]
    snoozed = [
        a for a in news if any(s.channel == watch.channel and s.covers(a, now) for s in snoozes)
    ]
    deliver = not watch.muted(now)
    quiet = watch.settings.quiet
    batch = ChannelAlerts(
        watch=watch,
        digests=group_for_digest([a for a in news if a not in snoozed]),
        recoveries=recoveries,
        deliver=deliver,
        silenced=snoozed,
        # Muted wins: what a mute keeps quiet is never posted, not even later.
        hold_until=quiet.held_until(now) if quiet is not None and deliver else None,
    )
    return alerts, batch
