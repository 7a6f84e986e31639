"""Is this process healthy? A pure judgement over what the server observed.

`/healthz` answers 503 when restarting the process could help: the poll
scheduler or the delivery loop has stopped, no poll has finished for three
intervals (a poll hung, or the job died), the database cannot be reached,
or, in Socket Mode, the websocket to Slack has been down for over a minute
(slack_sdk reconnects by itself within seconds; a minute without means it
cannot, and a new process gets a new connection).
A Northflank outage is not among them: a restart cannot fix it, and the bot
already tells the watching channels about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.core.humanize import duration

# A poll may run long (a first read, riding out retries) and the budget may
# stretch the interval, but three intervals without a finished poll is a hang.
STALE_AFTER_INTERVALS = 3
# Socket Mode: how long the websocket may be down before a restart is worth trying.
SOCKET_DOWN_LIMIT = timedelta(minutes=1)


@dataclass(frozen=True)
class SocketView:
    connected: bool
    down_since: datetime | None  # when it was first seen down, while it is


@dataclass(frozen=True)
class SchedulerView:
    running: bool
    interval: float  # seconds
    started_at: datetime | None
    last_success: datetime | None
    running_since: datetime | None  # the start of the poll in progress, if any
    next_run_at: datetime | None


@dataclass(frozen=True)
class Observations:
    now: datetime
    scheduler: SchedulerView | None  # None: this process does not schedule polls
    delivery_running: bool | None  # None: delivery is not run in the background here
    database_error: str | None  # None: a `SELECT 1` just worked
    socket: SocketView | None = None  # None: HTTP mode


@dataclass(frozen=True)
class HealthReport:
    healthy: bool
    reasons: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "reasons": self.reasons,
            **self.details,
        }


def judge(seen: Observations) -> HealthReport:
    reasons: list[str] = []
    details: dict[str, Any] = {}

    if seen.scheduler is None:
        details["scheduler"] = {"running": None, "note": "polling is off in this process"}
    else:
        scheduler_reasons, details["scheduler"], details["last_successful_poll"] = _scheduler(
            seen.scheduler, seen.now
        )
        reasons += scheduler_reasons

    details["delivery"] = {"running": seen.delivery_running}
    if seen.delivery_running is False:
        reasons.append("the alert delivery loop has stopped")

    if seen.socket is not None:
        socket = seen.socket
        details["socket_mode"] = {
            "connected": socket.connected,
            "down_since": _iso(socket.down_since),
        }
        down_for = seen.now - socket.down_since if socket.down_since is not None else None
        if not socket.connected and down_for is not None and down_for > SOCKET_DOWN_LIMIT:
            reasons.append(
                "the Socket Mode connection to Slack has been down for "
                f"{duration(down_for.total_seconds())}"
            )

    details["database"] = {"reachable": seen.database_error is None}
    if seen.database_error is not None:
        details["database"]["error"] = seen.database_error
        reasons.append(f"the database is unreachable ({seen.database_error})")

    return HealthReport(healthy=not reasons, reasons=reasons, details=details)


def _scheduler(
    view: SchedulerView, now: datetime
) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    reasons: list[str] = []
    if not view.running:
        reasons.append("the poll scheduler is not running")
    elif view.next_run_at is None:
        reasons.append("the poll job is not scheduled")
    stale_after = timedelta(seconds=view.interval * STALE_AFTER_INTERVALS)
    # Before the first poll finishes, a freshly started process gets the same grace.
    since = view.last_success or view.started_at
    age = (now - since) if since is not None else None
    if age is not None and age > stale_after:
        if view.running_since is not None:
            running_for = (now - view.running_since).total_seconds()
            reasons.append(f"a poll has been running for {duration(running_for)}")
        elif view.last_success is None:
            reasons.append(
                f"no poll has finished since the start, {duration(age.total_seconds())} ago"
            )
        else:
            reasons.append(f"no poll has finished for {duration(age.total_seconds())}")
    scheduler = {
        "running": view.running,
        "interval_seconds": view.interval,
        "next_poll_at": _iso(view.next_run_at),
        "poll_running_since": _iso(view.running_since),
    }
    last_poll = {
        "at": _iso(view.last_success),
        "age_seconds": round(age.total_seconds(), 1) if age is not None else None,
        "stale_after_seconds": stale_after.total_seconds(),
    }
    return reasons, scheduler, last_poll


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
