"""Northflank's fixed rate-limit window: N requests per window, counted from the first one."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class RateState:
    """What one request saw; becomes the ``x-ratelimit-*`` headers of its response."""

    limit: int
    remaining: int
    reset: int  # whole seconds until the window resets
    exceeded: bool

    def headers(self, *, remaining: int | None = None) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining if remaining is None else remaining),
            "x-ratelimit-reset": str(self.reset),
        }


class RateWindow:
    """Not thread-safe by itself: the owning fake calls it with its lock held."""

    def __init__(self, limit: int, window: float) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("rate limit and window must be positive")
        self.limit = limit
        self.window = window
        self._started: float | None = None
        self._remaining = limit

    def hit(self) -> RateState:
        """Count one request. The limit-th request still succeeds; the next one is over."""
        now = time.monotonic()
        if self._started is None or now >= self._started + self.window:
            self._started, self._remaining = now, self.limit
        exceeded = self._remaining == 0
        if not exceeded:
            self._remaining -= 1
        reset = max(0, math.ceil(self.window - (now - self._started)))
        return RateState(self.limit, self._remaining, reset, exceeded)

    def reset(self, remaining: int | None = None) -> None:
        """Start a fresh window now, optionally with fewer requests left than the limit."""
        self._started = time.monotonic()
        self._remaining = self.limit if remaining is None else remaining
