"""Why a write on Northflank did not work, in plain words. Pure."""

from __future__ import annotations

import pytest

from bot.core.audit import AuditAction
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
from bot.slack.render import explain


def write_failure(exc: NorthflankError, action: AuditAction) -> str:
    """What the alert's thread says when a write raised `exc`."""
    return explain.write_failure(exc.failure(), action)


# ----- why a write failed --------------------------------------------------------------------

ALL_WRITES = [AuditAction.RETAIN, AuditAction.START_BACKUP, AuditAction.ABORT]


@pytest.mark.parametrize("action", ALL_WRITES)
def test_permission_denied_names_the_role_to_give(action: AuditAction) -> None:
    words = write_failure(PermissionDeniedError("forbidden", status=403), action)
    assert words.startswith("Northflank refused: the bot's API token may not change this")
    assert "*Project &gt; Addons &gt; General &gt; Update*" in words
    assert ">" not in words


def test_not_found_says_what_no_longer_exists() -> None:
    gone = NotFoundError("backup not found", status=404)
    assert write_failure(gone, AuditAction.RETAIN) == (
        "Northflank says that backup no longer exists (deleted, or already expired), "
        "so there is nothing to retain."
    )
    assert write_failure(gone, AuditAction.ABORT).endswith("so there is nothing to abort.")
    assert write_failure(gone, AuditAction.START_BACKUP) == (
        "Northflank says that addon no longer exists, so there is nothing to back up."
    )


@pytest.mark.parametrize("action", ALL_WRITES)
def test_no_answer_means_nothing_changed_as_far_as_we_know(action: AuditAction) -> None:
    for exc in (UnavailableError("timed out"), UnavailableError("502", status=502)):
        words = write_failure(exc, action)
        assert words.startswith(
            "Northflank did not answer; as far as I know nothing changed. Try again in a minute."
        )
    # Only a start can be doubled by pressing again after a lost answer.
    assert ("*Show backups* first" in words) == (action is AuditAction.START_BACKUP)


def test_rate_limited_says_when_to_try_again() -> None:
    limited = RateLimitedError("slow down", retry_after=300)
    words = write_failure(limited, AuditAction.RETAIN)
    assert "nothing changed" in words and words.endswith("Try again in 5m.")
    unknown = write_failure(RateLimitedError("slow down"), AuditAction.RETAIN)
    assert unknown.endswith("Try again in a few minutes.")


def test_an_unreadable_answer_does_not_claim_failure() -> None:
    words = write_failure(MalformedResponseError("bad json"), AuditAction.ABORT)
    assert "can't tell whether it worked" in words


def test_a_revoked_token_is_explained() -> None:
    words = write_failure(AuthenticationError("expired", status=401), AuditAction.ABORT)
    assert "NORTHFLANK_API_TOKEN" in words and "nothing changed" in words


def test_a_refusal_quotes_northflank_escaped_and_shortened() -> None:
    finished = error_for_status(409, "Backup is not in progress <!channel> & done")
    assert isinstance(finished, BadRequestError)
    words = write_failure(finished, AuditAction.ABORT)
    assert words == ("Northflank refused: Backup is not in progress &lt;!channel&gt; &amp; done")
    long = write_failure(BadRequestError("x" * 300, status=400), AuditAction.ABORT)
    assert len(long) < 250 and long.endswith("…")
    other = write_failure(NorthflankError("odd", status=418), AuditAction.RETAIN)
    assert other == "Northflank refused (HTTP 418): odd"


@pytest.mark.parametrize(
    "exc",
    [
        PermissionDeniedError("token nf-secret-123 lacks a role", status=403),
        NotFoundError("nf-secret-123", status=404),
        UnavailableError("Traceback (most recent call last): nf-secret-123"),
        RateLimitedError("nf-secret-123"),
        MalformedResponseError("nf-secret-123"),
        AuthenticationError("nf-secret-123", status=401),
    ],
    ids=lambda exc: type(exc).__name__,
)
@pytest.mark.parametrize("action", ALL_WRITES)
def test_explanations_other_than_a_refusal_do_not_repeat_the_error(
    exc: NorthflankError, action: AuditAction
) -> None:
    words = write_failure(exc, action)
    assert "nf-secret-123" not in words
    assert "Traceback" not in words
