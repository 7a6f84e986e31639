"""Retries with backoff under the SDK, as an httpx transport.

The official SDK retries transport errors only, three times at a fixed
0.5 s, and does nothing for 429 or 5xx. This transport sits under the one
shared httpx.AsyncClient and does the rest: exponential backoff with jitter,
waits that honour Retry-After and x-ratelimit-reset, and a record of the
rate-limit headers of every response. When it gives up on a transport error
it raises `UnavailableError`, which is not an httpx error, so the SDK's own
retry loop does not multiply our attempts.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from bot.northflank.errors import UnavailableError
from bot.northflank.ratelimit import RateLimitState, retry_after_seconds

log = logging.getLogger(__name__)

_RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
# Safe to send twice: Northflank's GETs. A POST (start a backup) is only
# retried when we know it never reached the server, or was refused with 429.
_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_backoff: float = 8.0
    # A server that asks us to wait longer than this gets its error passed
    # up instead: a person waiting on a slash command is better served by
    # "try again in 12 minutes" than by silence.
    max_wait: float = 15.0

    def backoff(self, attempt: int, rng: Callable[[], float]) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        ceiling = min(self.max_backoff, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng() * ceiling / 2


class RetryingTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        *,
        rate_limit: RateLimitState,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        outcomes: Counter[str] | None = None,
    ) -> None:
        self._inner = inner
        self._rate_limit = rate_limit
        # Every attempt's outcome (ok, rate_limited, server_error, ...), for /metrics.
        self.outcomes: Counter[str] = outcomes if outcomes is not None else Counter()
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        idempotent = request.method in _IDEMPOTENT_METHODS
        attempts = self._policy.attempts
        for attempt in range(1, attempts + 1):
            try:
                response = await self._inner.handle_async_request(request)
                # Read the body here, not in the client: a connection that drops or
                # stalls mid-body must be judged (POST or not) by this loop, and never
                # reach the SDK's own retry, which would send a POST again.
                await response.aread()
            except (
                httpx.TimeoutException,
                httpx.NetworkError,
                httpx.RemoteProtocolError,
                httpx.DecodingError,
            ) as exc:
                self.outcomes[_outcome_of_error(exc)] += 1
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if attempt == attempts or not (idempotent or never_sent):
                    raise UnavailableError(
                        f"{_describe_transport_error(exc)} (after {attempt} attempts)"
                    ) from None
                delay = self._policy.backoff(attempt, self._rng)
                log.warning(
                    "northflank request failed, retrying",
                    extra={"error": type(exc).__name__, "attempt": attempt, "delay": delay},
                )
                await self._sleep(delay)
                continue

            self._rate_limit.observe(response.headers)
            status = response.status_code
            self.outcomes[_outcome_of_status(status)] += 1
            if attempt == attempts or status not in _RETRYABLE_STATUSES:
                return response
            if status != 429 and not idempotent:
                return response
            wait = self._delay_for(response, attempt)
            if wait is None:
                return response
            log.warning(
                "northflank answered %s, retrying",
                status,
                extra={"status": status, "attempt": attempt, "delay": wait},
            )
            await response.aclose()
            await self._sleep(wait)
        raise AssertionError("unreachable: the last attempt always returns or raises")

    def _delay_for(self, response: httpx.Response, attempt: int) -> float | None:
        """How long to wait before the next attempt, or None to give up now."""
        wait = retry_after_seconds(response.headers)
        # No Retry-After on a 429: when the budget is spent, the window's reset
        # is the earliest moment a retry can succeed.
        if wait is None and response.status_code == 429 and self._rate_limit.exhausted():
            wait = self._rate_limit.seconds_until_reset()
        if wait is None:
            return self._policy.backoff(attempt, self._rng)
        if wait > self._policy.max_wait:
            return None
        # A little jitter so that replicas told the same Retry-After do not stampede.
        return wait + self._rng() * self._policy.base_delay

    async def aclose(self) -> None:
        await self._inner.aclose()


def _outcome_of_status(status: int) -> str:
    if status == 429:
        return "rate_limited"
    if status >= 500:
        return "server_error"
    if status >= 400:
        return "client_error"
    return "ok"


def _outcome_of_error(exc: httpx.HTTPError) -> str:
    return "timeout" if isinstance(exc, httpx.TimeoutException) else "network_error"


def _describe_transport_error(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "Northflank did not answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to Northflank"
    return "the connection to Northflank failed"
