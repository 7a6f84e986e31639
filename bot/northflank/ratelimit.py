"""The request budget, as Northflank's rate-limit headers describe it.

Every response carries x-ratelimit-limit, -remaining and -reset (seconds to
the end of the window). The transport writes them here on every response so
that the poller and the health check can see how much of the hour is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime


@dataclass
class RateLimitState:
    clock: Callable[[], float] = time.monotonic
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None  # on `clock`'s scale
    updated_at: float | None = field(default=None)

    def observe(self, headers: Mapping[str, str]) -> None:
        limit = _int_header(headers, "x-ratelimit-limit")
        remaining = _int_header(headers, "x-ratelimit-remaining")
        reset = _float_header(headers, "x-ratelimit-reset")
        if limit is None and remaining is None and reset is None:
            return
        now = self.clock()
        self.limit = limit if limit is not None else self.limit
        self.remaining = remaining if remaining is not None else self.remaining
        if reset is not None:
            self.reset_at = now + reset
        self.updated_at = now

    def seconds_until_reset(self) -> float | None:
        if self.reset_at is None:
            return None
        return max(0.0, self.reset_at - self.clock())

    def window_over(self, assumed_window: float) -> bool:
        """True once the window the last response described has ended.

        Without x-ratelimit-reset, the window is taken to be `assumed_window`
        long from that response.
        """
        if self.updated_at is None:
            return False
        left = self.seconds_until_reset()
        if left is None:
            return self.clock() - self.updated_at >= assumed_window
        return left <= 0

    def exhausted(self) -> bool:
        """True while the last response said nothing is left and the window has not reset."""
        if self.remaining is None or self.remaining > 0:
            return False
        left = self.seconds_until_reset()
        return left is None or left > 0


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Retry-After as seconds; it may also be an HTTP date."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    value = _float_header(headers, name)
    return int(value) if value is not None else None


def _float_header(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value >= 0 else None
