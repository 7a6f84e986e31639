"""Why Northflank could not do what the bot asked, as data. Pure.

The Northflank adapter raises its own exceptions; each knows its `Failure`
(`NorthflankError.failure()`). A `Failure` is what outlives the exception:
it is stored with a write's result note and rendered when the note is
posted, and it is what every surface explains in its own words (the Slack
adapter's `explain`, the poller's problem alerts below).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FailureKind(StrEnum):
    # 401: the token is wrong, expired or revoked.
    AUTHENTICATION = "authentication"
    # 403: the token's role may not do this.
    PERMISSION = "permission"
    # 404: no such destination, addon or backup (or the token cannot see it).
    NOT_FOUND = "not-found"
    # 429 that the retries could not wait out.
    RATE_LIMITED = "rate-limited"
    # 5xx, timeouts and connection failures that outlasted the retries.
    UNAVAILABLE = "unavailable"
    # A 2xx whose body could not be used.
    MALFORMED = "malformed"
    # Any other 4xx: the request itself was refused (often: the backup moved on).
    BAD_REQUEST = "bad-request"
    # Anything else Northflank answered.
    OTHER = "other"
    # Not Northflank at all: the bot failed; `reference` names the log line.
    INTERNAL = "internal"


@dataclass(frozen=True, slots=True)
class Failure:
    kind: FailureKind
    # Northflank's own message (outside text, unescaped); "" when there is none.
    message: str = ""
    status: int | None = None
    retry_after: float | None = None
    reference: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "message": self.message,
            "status": self.status,
            "retry_after": self.retry_after,
            "reference": self.reference,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Failure:
        return cls(
            kind=FailureKind(data["kind"]),
            message=data.get("message") or "",
            status=data.get("status"),
            retry_after=data.get("retry_after"),
            reference=data.get("reference"),
        )


def problem_words(failure: Failure) -> str:
    """What is wrong with polling a destination, and how to fix it, in plain words.

    The text of a "Northflank problem" alert; stored with the alert as it is
    and escaped by whichever surface shows it.
    """
    kind = failure.kind
    if kind is FailureKind.AUTHENTICATION:
        return (
            "Northflank rejects the bot's API token (revoked or expired?). "
            "Create a new token and set NORTHFLANK_API_TOKEN."
        )
    if kind is FailureKind.PERMISSION:
        return (
            "The bot's API token may not read this destination. Give its API role "
            "Account > BackupDestinations > General > Read (and access to the project)."
        )
    if kind is FailureKind.NOT_FOUND:
        return (
            "Northflank says this backup destination does not exist any more. "
            "If it was deleted on purpose, stop watching it with `/backups unwatch`."
        )
    if kind is FailureKind.RATE_LIMITED:
        return (
            "Northflank is refusing requests because the API token's hourly budget is spent "
            "(other tools may share the token). The bot slows down and catches up on its own; "
            "a token of its own avoids this."
        )
    if kind is FailureKind.BAD_REQUEST:
        return f"Northflank refused the request: {failure.message}"
    return f"Northflank is not answering properly ({failure.message}). The bot keeps trying."
