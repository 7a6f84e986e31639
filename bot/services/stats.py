"""What polling and delivery have done since the process started, in plain counters.

The services count here; /metrics (bot/runtime/metrics.py) turns the counts
into metric families at scrape time, and the CLI and tests read them as
they are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class PollStats:
    """What the poll job has done since the process started."""

    polls: Counter[str] = field(default_factory=Counter)  # ok | failed
    destinations: Counter[str] = field(default_factory=Counter)  # ok | failed | postponed
    alerts: Counter[str] = field(default_factory=Counter)  # by event
    last_success: datetime | None = None
    running_since: datetime | None = None  # set while a poll is running


@dataclass
class DeliveryStats:
    """What alert delivery has done since the process started."""

    attempts: Counter[str] = field(default_factory=Counter)  # by outbox kind
    outcomes: Counter[str] = field(default_factory=Counter)  # delivered | retry | parked | ...
