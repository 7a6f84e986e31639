"""Our own view of Northflank failures.

Callers decide what to tell a person by the exception's class, not by
parsing messages. Each carries the API's status and message, never a token:
the SDK's `ApiCallError` is converted here and goes no further.
"""

from __future__ import annotations

from typing import ClassVar

from bot.core.failures import Failure, FailureKind

# An error body from a proxy can be a whole HTML page; keep the part a person reads.
_MAX_MESSAGE = 300


class NorthflankError(Exception):
    """Any failure to get an answer we can use from Northflank."""

    kind: ClassVar[FailureKind] = FailureKind.OTHER
    # Seconds until Northflank will take requests again, when it said (RateLimitedError).
    retry_after: float | None = None

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        self.message = " ".join(message.split())[:_MAX_MESSAGE] or "no message"
        super().__init__(
            f"Northflank API error {status}: {self.message}" if status else self.message
        )

    def failure(self) -> Failure:
        """What went wrong, as data that outlives this exception (see bot.core.failures)."""
        return Failure(self.kind, self.message, self.status, retry_after=self.retry_after)


class AuthenticationError(NorthflankError):
    """401: the token is wrong, expired or revoked."""

    kind = FailureKind.AUTHENTICATION


class PermissionDeniedError(NorthflankError):
    """403: the token is valid but its role may not do this."""

    kind = FailureKind.PERMISSION


class NotFoundError(NorthflankError):
    """404: no such destination (or the token's project scope hides it)."""

    kind = FailureKind.NOT_FOUND


class RateLimitedError(NorthflankError):
    """429 that our retries could not wait out within their limit."""

    kind = FailureKind.RATE_LIMITED

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class UnavailableError(NorthflankError):
    """5xx, timeouts and connection failures that outlasted the retries."""

    kind = FailureKind.UNAVAILABLE


class MalformedResponseError(NorthflankError):
    """A 2xx whose body we cannot use (truncated JSON, wrong types)."""

    kind = FailureKind.MALFORMED


class BadRequestError(NorthflankError):
    """Any other 4xx: the request itself was wrong."""

    kind = FailureKind.BAD_REQUEST


def error_for_status(
    status: int, message: str, retry_after: float | None = None
) -> NorthflankError:
    if status == 401:
        return AuthenticationError(message, status=status)
    if status == 403:
        return PermissionDeniedError(message, status=status)
    if status == 404:
        return NotFoundError(message, status=status)
    if status == 429:
        return RateLimitedError(message, status=status, retry_after=retry_after)
    if status >= 500 or status == 0:
        return UnavailableError(message, status=status or None)
    return BadRequestError(message, status=status)
