"""`/metrics`: what the bot has done, in Prometheus' text format.

The parts of the bot count what they do in plain counters of their own
(bot/services/stats.py, the Northflank client's request outcomes and
rate-limit state), so they stay testable without Prometheus and usable by
the CLI. This module is the one place that turns those counts into metric
families, at scrape time, the way prometheus-client's custom collectors are
meant to proxy existing state. Latencies are real histograms, observed as
they happen, because a histogram cannot be rebuilt from totals.

Every family is prefixed `backupbot_`. Each process has its own registry,
so tests (and replicas) never share counts by accident.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import Collector

from bot.northflank.ratelimit import RateLimitState
from bot.services.stats import DeliveryStats, PollStats

__all__ = ["CONTENT_TYPE_LATEST", "BotCollector", "Metrics", "Sources"]

# Acks must come within Slack's 3 s; the interesting range is well below it.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
# Replies include Northflank calls and may page through a destination.
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)


@dataclass
class Sources:
    """Where the collector reads from; the server fills it in once everything exists."""

    northflank_outcomes: Counter[str]
    rate_limit: RateLimitState
    polls: PollStats | None
    delivery: DeliveryStats
    # Replicas this one heard from within a lease, itself included.
    replicas: Callable[[], int] | None = None
    # Presses of the buttons on alerts, by (action, outcome).
    alert_buttons: Counter[tuple[str, str]] | None = None


class BotCollector(Collector):
    def __init__(self, sources: Sources, queue_depth: Callable[[], float]) -> None:
        self._sources = sources
        self._queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        yield from self._northflank()
        yield from self._polls()
        yield from self._delivery()
        if self._sources.alert_buttons is not None:
            family = CounterMetricFamily(
                "backupbot_alert_button_presses",
                "Presses of the buttons on alerts, by action and outcome (done, already, "
                "stale, refused, failed, unusable).",
                labels=["action", "outcome"],
            )
            for (action, outcome), count in sorted(self._sources.alert_buttons.items()):
                family.add_metric([action, outcome], count)
            yield family
        if self._sources.replicas is not None:
            yield _gauge(
                "backupbot_replicas",
                "Replicas sharing the database, as this one last counted them (itself included).",
                self._sources.replicas(),
            )

    def _northflank(self) -> Iterator[Metric]:
        s = self._sources
        yield _counter(
            "backupbot_northflank_requests",
            "HTTP requests sent to the Northflank API (each retry counts), by outcome.",
            "outcome",
            s.northflank_outcomes,
        )
        yield _gauge(
            "backupbot_northflank_ratelimit_remaining",
            "Requests left in Northflank's rate-limit window, as its last response said.",
            s.rate_limit.remaining,
        )
        yield _gauge(
            "backupbot_northflank_ratelimit_limit",
            "The size of Northflank's rate-limit window, in requests.",
            s.rate_limit.limit,
        )
        yield _gauge(
            "backupbot_northflank_ratelimit_reset_seconds",
            "Seconds until Northflank's rate-limit window resets.",
            s.rate_limit.seconds_until_reset(),
        )

    def _polls(self) -> Iterator[Metric]:
        stats = self._sources.polls
        if stats is None:
            return  # polling is off in this process
        yield _counter(
            "backupbot_polls",
            "Poll cycles run, by outcome (failed: the cycle itself raised).",
            "outcome",
            stats.polls,
            always=("ok", "failed"),
        )
        yield _counter(
            "backupbot_destination_polls",
            "Destinations polled, by outcome (postponed: left for later by the request budget).",
            "outcome",
            stats.destinations,
            always=("ok", "failed", "postponed"),
        )
        yield _counter(
            "backupbot_alerts", "Alerts raised by polls, by event.", "event", stats.alerts
        )
        yield _gauge(
            "backupbot_last_successful_poll_timestamp_seconds",
            "When the last poll cycle finished (Unix time).",
            stats.last_success.timestamp() if stats.last_success else None,
        )

    def _delivery(self) -> Iterator[Metric]:
        stats = self._sources.delivery
        yield _counter(
            "backupbot_delivery_attempts",
            "Attempts to deliver an outbox message to Slack, by kind.",
            "kind",
            stats.attempts,
        )
        yield _counter(
            "backupbot_delivery_failures",
            "Delivery attempts that did not post, by result "
            "(retry: tried again later; parked, disabled, failed: set aside).",
            "result",
            Counter({r: n for r, n in stats.outcomes.items() if r != "delivered"}),
        )
        yield _gauge(
            "backupbot_delivery_queue_depth",
            "Outbox messages not yet posted (pending or parked).",
            self._queue_depth(),
        )


def _counter(
    name: str,
    documentation: str,
    label: str,
    counts: Counter[str],
    always: Iterable[str] = (),
) -> CounterMetricFamily:
    """One counter family from a Counter; labels in `always` are shown even at 0."""
    family = CounterMetricFamily(name, documentation, labels=[label])
    for key in sorted(set(counts) | set(always)):
        family.add_metric([key], counts[key])
    return family


def _gauge(name: str, documentation: str, value: float | None) -> GaugeMetricFamily:
    # NaN says "not known yet" (no response seen, no poll finished), unlike 0.
    return GaugeMetricFamily(name, documentation, value=math.nan if value is None else value)


class Metrics:
    """The registry of one bot process, and the histograms observed as things happen."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.ack_seconds = Histogram(
            "backupbot_slack_ack_seconds",
            "Time from a Slack request's arrival to its ack, by kind "
            "(command, interaction, other).",
            ["kind"],
            buckets=ACK_BUCKETS,
            registry=self.registry,
        )
        self.reply_seconds = Histogram(
            "backupbot_slack_reply_seconds",
            "Time from a command's ack to its reply being sent (Northflank calls included).",
            buckets=REPLY_BUCKETS,
            registry=self.registry,
        )
        self._queue_depth: float = math.nan

    def watch(self, sources: Sources) -> None:
        self.registry.register(BotCollector(sources, lambda: self._queue_depth))

    def set_queue_depth(self, depth: float) -> None:
        """The outbox depth, read from the store before each scrape (an async call
        cannot run inside a collector) and kept until the next one. NaN: unknown."""
        self._queue_depth = depth

    def render(self) -> bytes:
        return generate_latest(self.registry)
