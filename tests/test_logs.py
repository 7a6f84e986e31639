from __future__ import annotations

import logging

from bot.logs import REDACTED, RedactingFormatter, redact


def test_known_secrets_and_token_shapes_are_redacted() -> None:
    text = (
        "token=nf-secret-123 auth=Bearer eyJhbGciOi.abc.def slack=xoxb-1-2-abc "
        "app=xapp-1-A0-123 signing=shh-it-is-secret"
    )
    cleaned = redact(text, ["nf-secret-123", "shh-it-is-secret"])
    for secret in ("nf-secret-123", "eyJhbGciOi", "xoxb-1-2-abc", "xapp-1-A0-123", "shh-it-is"):
        assert secret not in cleaned
    assert cleaned.count(REDACTED) == 5


def test_formatter_redacts_arguments_and_tracebacks() -> None:
    formatter = RedactingFormatter(["super-secret-value"])
    try:
        raise RuntimeError("failed with super-secret-value")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "calling with %s",
            ("super-secret-value",),
            sys.exc_info(),
        )
    line = formatter.format(record)
    assert "super-secret-value" not in line
    assert "calling with [redacted]" in line
    assert "RuntimeError: failed with [redacted]" in line


def test_context_passed_with_extra_is_kept_and_redacted() -> None:
    formatter = RedactingFormatter(secrets=["s3cr3t-token"])
    record = logging.makeLogRecord(
        {"msg": "poll done", "levelno": logging.INFO, "levelname": "INFO", "name": "bot"}
    )
    record.destinations = 3
    record.error = "401 for s3cr3t-token"
    line = formatter.format(record)
    assert "poll done" in line and "destinations=3" in line
    assert "s3cr3t-token" not in line and "[redacted]" in line
