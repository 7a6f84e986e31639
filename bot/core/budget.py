"""How many Northflank requests a poll cycle may spend. Pure.

A token gets about 1000 requests an hour, shared with everything else that
uses it. Each cycle spends its fair share of what is left above a reserve,
spread over the cycles until the window resets. When that share is smaller
than the number of destinations, the least recently polled go first and the
rest wait for the next cycle: intervals stretch instead of running into 429s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Northflank's documented default, assumed until a response tells us the real one.
DEFAULT_HOURLY_LIMIT = 1000
DEFAULT_WINDOW_SECONDS = 3600.0
# Left for people and other tools that share the token.
RESERVE_SHARE = 0.2
MIN_RESERVE = 20


@dataclass(frozen=True, slots=True)
class BudgetReading:
    """The last x-ratelimit-* headers: None where nothing has been seen yet."""

    limit: int | None
    remaining: int | None
    reset_in: float | None


@dataclass(frozen=True, slots=True)
class CyclePlan:
    requests: int
    # True when this cycle cannot poll every destination that is due.
    stretched: bool
    reason: str


def reserve_for(limit: int) -> int:
    return min(limit // 2, max(MIN_RESERVE, math.ceil(limit * RESERVE_SHARE)))


def plan_cycle(
    reading: BudgetReading, *, destinations: int, poll_interval: float, replicas: int = 1
) -> CyclePlan:
    """This replica's plan for one cycle over `destinations` due ones.

    Every replica reads the same budget (the headers count the token, not the
    process) and runs a cycle every interval, so when the budget is short each
    takes a 1/`replicas` share. When it is not, any replica may poll every due
    destination: the leases see that each is polled once, and a slow replica
    does not hold the others back.
    """
    replicas = max(1, replicas)
    if destinations <= 0:
        return CyclePlan(0, False, "nothing to poll")
    limit = reading.limit or DEFAULT_HOURLY_LIMIT
    remaining, reset_in = reading.remaining, reading.reset_in
    if remaining is None:
        # No response has said what is left yet: assume Northflank's documented
        # default, a whole window of it, so that nothing spends the hour's budget
        # before it knows what that budget is.
        remaining, reset_in = limit, DEFAULT_WINDOW_SECONDS
    available = remaining - reserve_for(limit)
    reset_in = reset_in if reset_in is not None else DEFAULT_WINDOW_SECONDS
    if available <= 0:
        return CyclePlan(
            0,
            True,
            f"only {remaining} requests left, kept in reserve; "
            f"the window resets in {reset_in:.0f}s",
        )
    cycles_left = max(1, math.ceil(reset_in / max(poll_interval, 1.0)))
    share = max(1, math.floor(available / cycles_left))
    if share < destinations:
        mine = max(1, share // replicas)
        among = f", {mine} of them by this replica of {replicas}" if replicas > 1 else ""
        return CyclePlan(
            mine,
            True,
            f"{available} requests to spare over {cycles_left} polls before the window resets: "
            f"{share} this poll for {destinations} destinations{among}",
        )
    return CyclePlan(share, False, "within budget")
