"""Log formatting and redaction: the text and JSON formatters, and configure()."""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import logs
from bot.runtime.logs import REDACTED, JsonRedactingFormatter, RedactingFormatter, redact
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup
from tests.processes import clean_env, run_bot
from tests.strings import strings_in

# Quotes and backslashes: escaped by JSON and by repr(), so a search for the plain
# value in the finished line would miss them.
AWKWARD_SECRET = 'nf-"quoted"\\back\\slash'


def record(
    msg: str = "poll done",
    *args: object,
    level: int = logging.INFO,
    name: str = "bot.services.poller",
    exc_info: Any = None,
    **extra: object,
) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, msg, args, exc_info)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def raised(message: str) -> Any:
    try:
        raise RuntimeError(message)
    except RuntimeError:
        return sys.exc_info()


def json_line(formatter: logging.Formatter, log_record: logging.LogRecord) -> dict[str, Any]:
    line = formatter.format(log_record)
    assert "\n" not in line
    parsed: dict[str, Any] = json.loads(line)
    return parsed


# ----- redact() ------------------------------------------------------------------------


def test_known_secrets_and_token_shapes_are_redacted() -> None:
    text = (
        "token=nf-secret-123 auth=Bearer eyJhbGciOi.abc.def slack=xoxb-1-2-abc "
        "app=xapp-1-A0-123 signing=shh-it-is-secret"
    )
    cleaned = redact(text, ["nf-secret-123", "shh-it-is-secret"])
    for secret in ("nf-secret-123", "eyJhbGciOi", "xoxb-1-2-abc", "xapp-1-A0-123", "shh-it-is"):
        assert secret not in cleaned
    assert cleaned.count(REDACTED) == 5


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # slack_sdk's request headers at DEBUG (it masks this one itself; others may not).
        (
            "headers: {'Authorization': 'Bearer abc.def', 'User-Agent': 'x'}",
            "headers: {'Authorization': '[redacted]', 'User-Agent': 'x'}",
        ),
        # httpcore's response headers at DEBUG: (name, value) tuples of bytes.
        (
            "[(b'Content-Type', b'text/html'), (b'Authorization', b'Bearer abc')]",
            "[(b'Content-Type', b'text/html'), (b'Authorization', b'[redacted]')]",
        ),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', '{"authorization": "[redacted]"}'),
        ("Authorization: Bearer abc123 from 10.0.0.1", "Authorization: [redacted] from 10.0.0.1"),
        ("authorization=Token abc123, next=1", "authorization=[redacted], next=1"),
        ("Proxy-Authorization: Basic Zm9vOmJhcg==", "Proxy-Authorization: [redacted]"),
        # A quoted value runs to its closing quote, across an escaped one.
        ("'Authorization': 'Bearer a\\'b c' tail", "'Authorization': '[redacted]' tail"),
        # Already redacted (by the API client, say): left as it is, not doubled.
        ("Authorization: Bearer [redacted] x", "Authorization: [redacted] x"),
        ("the Authorization header is missing", "the Authorization header is missing"),
        # The one-time ticket of a Socket Mode URL, in apps.connections.open's answer.
        (
            "'url': 'wss://wss.slack.com/link/?ticket=Ko-HW_vT.Y&app_id=A0APP'",
            "'url': 'wss://wss.slack.com/link/?ticket=[redacted]&app_id=A0APP'",
        ),
    ],
)
def test_authorization_values_are_redacted_in_any_form(text: str, expected: str) -> None:
    assert redact(text, []) == expected


def test_a_secret_is_redacted_in_its_escaped_forms_too() -> None:
    escaped = [
        json.dumps(AWKWARD_SECRET),
        repr(AWKWARD_SECRET),
        repr(AWKWARD_SECRET.encode()),
    ]
    for text in escaped:
        assert "quoted" not in redact(f"before {text} after", [AWKWARD_SECRET]), text


def test_short_values_are_not_treated_as_secrets() -> None:
    # A three-letter "secret" would shred every line that happens to contain it.
    assert redact("abc abc", ["abc"]) == "abc abc"


# ----- the text formatter ----------------------------------------------------------------


def test_text_formatter_redacts_arguments_and_tracebacks() -> None:
    formatter = RedactingFormatter(["super-secret-value"])
    line = formatter.format(
        record(
            "calling with %s",
            "super-secret-value",
            level=logging.ERROR,
            exc_info=raised("failed with super-secret-value"),
        )
    )
    assert "super-secret-value" not in line
    assert "calling with [redacted]" in line
    assert "RuntimeError: failed with [redacted]" in line


def test_text_formatter_keeps_extra_context_and_redacts_it() -> None:
    formatter = RedactingFormatter(secrets=["s3cr3t-token", AWKWARD_SECRET])
    line = formatter.format(
        record(destinations=3, error="401 for s3cr3t-token", detail=f"echo {AWKWARD_SECRET}")
    )
    assert "poll done" in line and "destinations=3" in line
    assert "error='401 for [redacted]'" in line
    # repr() of the value would double the backslashes; the value is redacted first.
    assert "detail='echo [redacted]'" in line
    assert "s3cr3t" not in line and "quoted" not in line


# ----- the JSON formatter ----------------------------------------------------------------


def test_json_line_has_time_level_logger_message_and_the_extra_context() -> None:
    formatter = JsonRedactingFormatter()
    made = record(
        "delivered %d alerts",
        2,
        level=logging.WARNING,
        name="bot.services.delivery",
        destination="dest-1",
        channel="C0ALERTS",
        attempt=3,
        retry_in=1.5,
        ok=True,
        missing=None,
    )
    made.created = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC).timestamp()
    parsed = json_line(formatter, made)
    assert parsed == {
        "time": "2026-01-02T03:04:05.678+00:00",
        "level": "WARNING",
        "logger": "bot.services.delivery",
        "message": "delivered 2 alerts",
        "destination": "dest-1",
        "channel": "C0ALERTS",
        "attempt": 3,
        "retry_in": 1.5,
        "ok": True,
        "missing": None,
    }


@dataclass(frozen=True)
class _Target:
    destination: str
    since: datetime


def test_json_encodes_values_json_does_not_know() -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    parsed = json_line(
        JsonRedactingFormatter(),
        record(
            target=_Target("dest-1", since),
            when=since,
            took=timedelta(seconds=2),
            ids=("a", "b"),
            raw=b"bytes",
        ),
    )
    assert parsed["target"] == {"destination": "dest-1", "since": "2026-01-01T00:00:00+00:00"}
    assert parsed["when"] == "2026-01-01T00:00:00+00:00"
    assert parsed["took"] == "0:00:02"
    assert parsed["ids"] == ["a", "b"]
    assert parsed["raw"] == "bytes"


def test_the_context_cannot_overwrite_the_standard_fields() -> None:
    made = record("real", level=logging.ERROR)
    made.time = "forged"
    made.logger = "forged"
    parsed = json_line(JsonRedactingFormatter(), made)
    assert parsed["time"] != "forged" and parsed["logger"] == "bot.services.poller"
    assert parsed["level"] == "ERROR"


def test_json_redacts_secrets_with_quotes_and_backslashes_everywhere() -> None:
    formatter = JsonRedactingFormatter([AWKWARD_SECRET, "xoxb-plain-bot-token"])
    made = record(
        "calling with %s and %r",
        AWKWARD_SECRET,
        AWKWARD_SECRET,
        error=f"echoed {AWKWARD_SECRET}",
        headers={"Authorization": "Bearer opaque-credential", "X-Seen": AWKWARD_SECRET},
        nested=[{"deep": [AWKWARD_SECRET.encode()]}],
    )
    setattr(made, AWKWARD_SECRET, "a secret as a key")
    line = formatter.format(made)
    parsed = json.loads(line)
    for text in strings_in(parsed):
        assert "quoted" not in text and "opaque-credential" not in text, text
    assert parsed["message"] == "calling with [redacted] and '[redacted]'"
    assert parsed["error"] == "echoed [redacted]"
    assert parsed["headers"] == {"Authorization": REDACTED, "X-Seen": REDACTED}
    assert parsed["nested"] == [{"deep": [REDACTED]}]


def test_json_redacts_tracebacks_and_keeps_them_whole() -> None:
    formatter = JsonRedactingFormatter([AWKWARD_SECRET])
    made = record(
        "a poll failed",
        level=logging.ERROR,
        exc_info=raised(f"Northflank said no to {AWKWARD_SECRET} (Authorization: Bearer zz9)"),
    )
    parsed = json_line(formatter, made)
    exception = parsed["exception"]
    assert exception.startswith("Traceback (most recent call last):")
    assert exception.endswith(
        "RuntimeError: Northflank said no to [redacted] (Authorization: [redacted])"
    )
    assert parsed["message"] == "a poll failed"


def test_a_secret_left_in_the_finished_line_is_caught_without_breaking_it() -> None:
    # A message that is already JSON-escaped text: the value is not in any string as
    # such, only in the line once it is escaped again. The last pass over the line gets it.
    escaped_twice = json.dumps(json.dumps(AWKWARD_SECRET))[1:-1]
    formatter = JsonRedactingFormatter([escaped_twice])
    line = formatter.format(record(f"payload {json.dumps(AWKWARD_SECRET)}"))
    assert "quoted" not in line
    assert json.loads(line)["logger"] == "bot.services.poller"


def test_a_line_the_last_pass_would_break_is_withheld_as_valid_json() -> None:
    # "n-leak-value" is nowhere in the message, but the escaped newline before
    # "-leak-value" makes it appear in the line; replacing it would leave a bare "\".
    formatter = JsonRedactingFormatter(["n-leak-value"])
    line = formatter.format(record("first line\n-leak-value", level=logging.ERROR))
    parsed = json.loads(line)
    assert "leak-value" not in line
    assert parsed["level"] == "ERROR" and parsed["logger"] == "bot.services.poller"
    assert "withheld" in parsed["message"]


# ----- configure() -----------------------------------------------------------------------


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure() changes process-wide state; put it back for the other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    names = ("httpx", "httpcore", "aiohttp.access", "sqlalchemy.engine", "aiosqlite")
    levels = {name: logging.getLogger(name).level for name in names}
    hook = threading.excepthook
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, previous in levels.items():
            logging.getLogger(name).setLevel(previous)
        logging.captureWarnings(False)
        threading.excepthook = hook


@pytest.mark.usefixtures("restore_logging")
def test_configure_json_writes_one_object_a_line_to_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.configure(secrets=["nf-configured-secret"], level="INFO", format="json")
    logging.getLogger("bot.test").info("first uses nf-configured-secret", extra={"n": 1})
    logging.getLogger("bot.test").debug("below the level")
    err = capsys.readouterr().err
    [line] = err.splitlines()
    parsed = json.loads(line)
    assert parsed["message"] == "first uses [redacted]" and parsed["n"] == 1


@pytest.mark.usefixtures("restore_logging")
def test_configure_text_is_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure(secrets=["nf-configured-secret"])
    logging.getLogger("bot.test").info("uses nf-configured-secret", extra={"n": 1})
    logging.getLogger("bot.test").debug("below the level")
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith("INFO bot.test: uses [redacted] [n=1]")


@pytest.mark.usefixtures("restore_logging")
def test_configure_sets_the_level_and_lets_library_debug_through_only_at_debug() -> None:
    logs.configure(level="WARNING")
    assert logging.getLogger().level == logging.WARNING
    assert not logging.getLogger("httpcore").isEnabledFor(logging.INFO)
    logs.configure(level="DEBUG", format="json")
    assert logging.getLogger("httpcore").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("slack_sdk.web.async_base_client").isEnabledFor(logging.DEBUG)
    # Health-check access lines and SQL rows stay out even then.
    assert not logging.getLogger("aiohttp.access").isEnabledFor(logging.INFO)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)


@pytest.mark.usefixtures("restore_logging")
def test_configure_routes_warnings_through_the_formatter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import warnings

    logs.configure(secrets=["nf-configured-secret"], format="json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("deprecated use of nf-configured-secret", DeprecationWarning, stacklevel=1)
    [line] = capsys.readouterr().err.splitlines()
    parsed = json.loads(line)
    assert parsed["logger"] == "py.warnings" and "[redacted]" in parsed["message"]
    assert "nf-configured-secret" not in line


@pytest.mark.usefixtures("restore_logging")
def test_configure_routes_exceptions_that_end_a_thread_through_the_formatter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def fail() -> None:
        raise RuntimeError("worker died holding nf-configured-secret")

    logs.configure(secrets=["nf-configured-secret"], format="json")
    worker = threading.Thread(target=fail, name="worker-1")
    worker.start()
    worker.join()
    [line] = capsys.readouterr().err.splitlines()
    parsed = json.loads(line)
    assert parsed["logger"] == "threading" and parsed["message"] == "an exception ended worker-1"
    assert parsed["exception"].endswith("RuntimeError: worker died holding [redacted]")


# ----- every subcommand logs as configured ----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [("destinations",), ("list", "dest-1"), ("db", "upgrade"), ("check",)],
    ids=["destinations", "list", "db-upgrade", "check"],
)
def test_every_subcommand_logs_json_at_the_level_asked(
    argv: tuple[str, ...], fake_northflank: FakeNorthflank, tmp_path: Path
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups("dest-1", [make_backup("b1")])
    env = clean_env(
        NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
        NORTHFLANK_API_BASE_URL=fake_northflank.url,
        DATABASE_URL=f"sqlite:///{tmp_path}/bot.db",
        LOG_FORMAT="JSON",
        LOG_LEVEL="debug",
    )
    if argv == ("check",):
        assert run_bot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    result = run_bot(*argv, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines, "nothing was logged"
    assert any(line["level"] == "DEBUG" for line in lines)
    assert DEFAULT_TOKEN not in result.stderr


def test_a_bad_log_setting_stops_a_subcommand_with_the_usual_message(tmp_path: Path) -> None:
    env = clean_env(NORTHFLANK_API_TOKEN=DEFAULT_TOKEN, LOG_LEVEL="chatty", LOG_FORMAT="yaml")
    result = run_bot("destinations", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "LOG_LEVEL: input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'" in result.stderr
    assert "LOG_FORMAT: input should be 'text' or 'json'" in result.stderr
    assert "chatty" not in result.stderr and "yaml" not in result.stderr


# ----- secrets learned while running -----------------------------------------------------


@pytest.mark.parametrize("formatter", [RedactingFormatter(), JsonRedactingFormatter()])
def test_a_secret_learned_while_running_is_redacted_from_then_on(
    formatter: logging.Formatter,
) -> None:
    # A stored connection's token is known only once it is read (bot.runtime.logs.add_secret).
    learned = "nf-learned-while-running-0123456789"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logging.getLogger("bot.test").warning("before: %s", learned)
        logs.add_secret(learned)
        logging.getLogger("bot.test").warning("after: %s", learned, extra={"token": learned})
    finally:
        root.removeHandler(handler)
    before, after = stream.getvalue().splitlines()
    assert learned in before  # nothing is rewritten after the fact, and nothing else changed
    assert learned not in after and REDACTED in after
