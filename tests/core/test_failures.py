"""Why Northflank failed, as data, and the words of a "Northflank problem" alert. Pure."""

from __future__ import annotations

import json

import pytest

from bot.core.failures import Failure, FailureKind, problem_words


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (FailureKind.AUTHENTICATION, "set NORTHFLANK_API_TOKEN"),
        (FailureKind.PERMISSION, "Account > BackupDestinations > General > Read"),
        (FailureKind.NOT_FOUND, "`/backups unwatch`"),
        (FailureKind.RATE_LIMITED, "hourly budget is spent"),
        (FailureKind.BAD_REQUEST, "Northflank refused the request: what went wrong"),
        (FailureKind.UNAVAILABLE, "not answering properly (what went wrong)"),
        (FailureKind.MALFORMED, "not answering properly (what went wrong)"),
        (FailureKind.OTHER, "not answering properly (what went wrong)"),
    ],
)
def test_a_problem_alert_says_what_is_wrong_and_how_to_fix_it(
    kind: FailureKind, words: str
) -> None:
    assert words in problem_words(Failure(kind, "what went wrong"))


def test_a_failure_round_trips_through_json() -> None:
    failure = Failure(FailureKind.RATE_LIMITED, "slow <down> & wait", 429, retry_after=3.5)
    assert Failure.from_json(json.loads(json.dumps(failure.to_json()))) == failure
    internal = Failure(FailureKind.INTERNAL, reference="abc123ef")
    assert Failure.from_json(internal.to_json()) == internal
