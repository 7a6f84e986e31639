"""A queue of one-shot faults that requests consume in the order they were queued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Fault:
    kind: str
    remaining: int
    matches: Callable[[str], bool]
    # Matching requests still to let through before this fault strikes.
    skip: int = 0


class FaultQueue:
    """Not thread-safe by itself: the owning fake calls it with its lock held."""

    def __init__(self) -> None:
        self._faults: list[_Fault] = []

    def push(self, kind: str, times: int, matches: Callable[[str], bool], *, skip: int = 0) -> None:
        """Queue ``kind`` for ``times`` matching requests, after letting ``skip`` of them pass."""
        if times < 1:
            raise ValueError(f"times must be >= 1, got {times}")
        if skip < 0:
            raise ValueError(f"skip must be >= 0, got {skip}")
        self._faults.append(_Fault(kind, times, matches, skip))

    def take(self, subject: str) -> str | None:
        """Consume one use of the oldest armed fault matching ``subject``; return its kind.

        Every matching fault that is still skipping counts this request as one let
        through, whether or not an older armed fault strikes it: a fault queued with
        ``skip=2`` always lands on the third matching request from then on.
        """
        chosen: _Fault | None = None
        for fault in self._faults:
            if not fault.matches(subject):
                continue
            if fault.skip > 0:
                fault.skip -= 1
            elif chosen is None:
                chosen = fault
        if chosen is None:
            return None
        chosen.remaining -= 1
        if chosen.remaining == 0:
            self._faults.remove(chosen)
        return chosen.kind

    def clear(self) -> None:
        self._faults.clear()

    def __len__(self) -> int:
        return len(self._faults)
