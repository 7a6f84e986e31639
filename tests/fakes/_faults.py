"""A queue of one-shot faults that requests consume in the order they were queued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Fault:
    kind: str
    remaining: int
    matches: Callable[[str], bool]


class FaultQueue:
    """Not thread-safe by itself: the owning fake calls it with its lock held."""

    def __init__(self) -> None:
        self._faults: list[_Fault] = []

    def push(self, kind: str, times: int, matches: Callable[[str], bool]) -> None:
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        self._faults.append(_Fault(kind, times, matches))

    def take(self, subject: str) -> str | None:
        """Consume one use of the oldest fault matching ``subject``; return its kind."""
        for fault in self._faults:
            if fault.matches(subject):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault.kind
        return None

    def clear(self) -> None:
        self._faults.clear()

    def __len__(self) -> int:
        return len(self._faults)
