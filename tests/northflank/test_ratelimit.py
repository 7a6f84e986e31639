"""When the budget the last response described has run out, and when it is over."""

from __future__ import annotations

from bot.northflank.ratelimit import RateLimitState


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_with_a_reset_header_ends_at_the_reset() -> None:
    ticks = Ticks()
    state = RateLimitState(clock=ticks)
    assert not state.window_over(3600)  # nothing seen yet: nothing to be over
    state.observe(
        {"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60"}
    )
    assert state.exhausted() and not state.window_over(3600)
    ticks.now += 60
    assert state.window_over(3600) and not state.exhausted()


def test_without_a_reset_header_the_assumed_window_applies() -> None:
    ticks = Ticks()
    state = RateLimitState(clock=ticks)
    state.observe({"x-ratelimit-limit": "100", "x-ratelimit-remaining": "0"})
    ticks.now += 3599
    assert not state.window_over(3600)
    ticks.now += 1
    assert state.window_over(3600)
