"""Each Northflank error knows its failure (bot.core.failures), whatever the status. Pure."""

from __future__ import annotations

import json

import pytest

from bot.core.failures import Failure, FailureKind
from bot.northflank.errors import (
    AuthenticationError,
    BadRequestError,
    MalformedResponseError,
    NorthflankError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
    error_for_status,
)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (AuthenticationError("expired", status=401), FailureKind.AUTHENTICATION),
        (PermissionDeniedError("no", status=403), FailureKind.PERMISSION),
        (NotFoundError("gone", status=404), FailureKind.NOT_FOUND),
        (RateLimitedError("slow", retry_after=12.0), FailureKind.RATE_LIMITED),
        (UnavailableError("timed out"), FailureKind.UNAVAILABLE),
        (MalformedResponseError("bad json", status=200), FailureKind.MALFORMED),
        (BadRequestError("finished", status=409), FailureKind.BAD_REQUEST),
        (NorthflankError("odd", status=418), FailureKind.OTHER),
    ],
)
def test_each_northflank_error_knows_its_failure(error: NorthflankError, kind: FailureKind) -> None:
    failure = error.failure()
    assert failure.kind is kind
    assert (failure.message, failure.status) == (error.message, error.status)
    assert failure.retry_after == (12.0 if kind is FailureKind.RATE_LIMITED else None)
    assert Failure.from_json(json.loads(json.dumps(failure.to_json()))) == failure


def test_every_status_maps_to_the_kind_its_error_has() -> None:
    kinds = {
        status: error_for_status(status, "x").failure().kind
        for status in (400, 401, 403, 404, 409, 429, 500, 503, 0)
    }
    assert kinds == {
        400: FailureKind.BAD_REQUEST,
        401: FailureKind.AUTHENTICATION,
        403: FailureKind.PERMISSION,
        404: FailureKind.NOT_FOUND,
        409: FailureKind.BAD_REQUEST,
        429: FailureKind.RATE_LIMITED,
        500: FailureKind.UNAVAILABLE,
        503: FailureKind.UNAVAILABLE,
        0: FailureKind.UNAVAILABLE,
    }
