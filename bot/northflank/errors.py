"""Our own view of Northflank failures.

Callers decide what to tell a person by the exception's class, not by
parsing messages. Each carries the API's status and message, never a token:
the SDK's `ApiCallError` is converted here and goes no further.
"""

from __future__ import annotations

# An error body from a proxy can be a whole HTML page; keep the part a person reads.
_MAX_MESSAGE = 300


class NorthflankError(Exception):
    """Any failure to get an answer we can use from Northflank."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        self.status = status
        self.message = " ".join(message.split())[:_MAX_MESSAGE] or "no message"
        super().__init__(
            f"Northflank API error {status}: {self.message}" if status else self.message
        )


class AuthenticationError(NorthflankError):
    """401: the token is wrong, expired or revoked."""


class PermissionDeniedError(NorthflankError):
    """403: the token is valid but its role may not do this."""


class NotFoundError(NorthflankError):
    """404: no such destination (or the token's project scope hides it)."""


class RateLimitedError(NorthflankError):
    """429 that our retries could not wait out within their limit."""

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class UnavailableError(NorthflankError):
    """5xx, timeouts and connection failures that outlasted the retries."""


class MalformedResponseError(NorthflankError):
    """A 2xx whose body we cannot use (truncated JSON, wrong types)."""


class BadRequestError(NorthflankError):
    """Any other 4xx: the request itself was wrong."""


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
