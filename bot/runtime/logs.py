"""Logging set-up, as text or JSON lines, with every secret scrubbed from every line.

Scrubbing happens in the formatters, so it covers our messages, their arguments,
the context passed with `extra=`, exception tracebacks and third-party loggers
alike (slack_sdk logs request and response headers and bodies at DEBUG, httpcore
logs response headers). Each string is scrubbed before it is quoted or escaped,
and the finished line once more: quoting can turn a secret into a form that no
longer matches its plain value (a backslash doubled, a quote escaped).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pythonjsonlogger.json import JsonEncoder, JsonFormatter

REDACTED = "[redacted]"
LogFormat = Literal["text", "json"]

# Shorter values are too likely to occur in ordinary text to be replaced blindly.
_MIN_SECRET_LENGTH = 4
# Shapes of credentials we may not know the value of: Slack tokens, bearer credentials,
# and the one-time ticket in a Socket Mode URL (slack_sdk logs it at DEBUG).
_TOKEN_SHAPES = re.compile(
    r"xox[abposre]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|(?i:bearer)\s+[A-Za-z0-9._~+/=-]+"
    r"|(?<=[?&]ticket=)[A-Za-z0-9._~+/=%-]+"
)
# An Authorization header's value, however it is written: `Authorization: Bearer x`,
# `'Authorization': 'Bearer x'` (a dict's repr), `"authorization": "x"` (JSON),
# `authorization=x`, `(b'Authorization', b'Bearer x')` (httpcore's header tuples).
# A quoted value runs to its closing quote, escapes included, so that a match never
# ends inside an escape sequence (that would break a JSON line); an unquoted one is an
# optional scheme and one word, and never swallows a quote or a backslash. A value
# already redacted (by the API client, say) is taken whole, so it is not redacted twice.
_AUTHORIZATION = re.compile(
    r"""
    (?P<head> authorization ['"]? \s* [:=,] \s* (?: (?-i:b)(?=['"]) )? (?P<quote>['"])? )
    (?(quote) (?: \\. | (?! (?P=quote) ) [^\\] )*
            | (?: [A-Za-z]+ [ \t]+ )? (?: \[redacted\] | [^\s,;'"(){}\[\]\\]+ ) )
    """,
    re.IGNORECASE | re.VERBOSE,
)
# Mapping keys whose value is a credential whatever it looks like.
_SECRET_KEYS = re.compile(r"authorization|token|secret|password", re.IGNORECASE)

# Attributes every LogRecord has; anything else came in through `extra=`.
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
# slack_sdk and httpcore log every request at DEBUG, httpx each one at INFO; worth it
# only when someone asked for DEBUG. Health checks and SQL are never worth a line.
_CHATTY_BELOW_DEBUG = ("httpx", "httpcore")
_ALWAYS_QUIET = ("aiohttp.access", "sqlalchemy.engine", "aiosqlite")


class Redactor:
    """Replaces known secret values, token shapes and Authorization values."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._plain = {s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}
        self._secrets = _variants(self._plain)

    def add(self, secret: str) -> None:
        """A secret learned while running (a connection's token): redacted from now on."""
        if len(secret) >= _MIN_SECRET_LENGTH and secret not in self._plain:
            self._plain.add(secret)
            self._secrets = _variants(self._plain)

    def text(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        text = _AUTHORIZATION.sub(lambda m: m.group("head") + REDACTED, text)
        return _TOKEN_SHAPES.sub(REDACTED, text)

    def value(self, value: Any) -> Any:
        """A copy of `value` that JSON can encode, every string in it redacted."""
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if isinstance(value, Mapping):
            return {self.text(str(k)): self._entry(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.value(item) for item in value]
        if isinstance(value, bytes | bytearray):
            return self.text(bytes(value).decode("utf-8", "replace"))
        # Datetimes, exceptions, dataclasses...: as python-json-logger would encode them.
        encoded = _ENCODER.default(value)
        return self.value(str(encoded) if encoded is value else encoded)

    def _entry(self, key: str, value: Any) -> Any:
        if _SECRET_KEYS.search(key) and isinstance(value, str | bytes) and value:
            return REDACTED
        return self.value(value)


def _variants(plain: set[str]) -> list[str]:
    # Each secret as it appears after JSON or repr() quoting, too; longest first,
    # so a secret that contains another is replaced whole.
    variants = {form for s in plain for form in _quoted_forms(s)}
    return sorted(variants, key=len, reverse=True)


def add_secret(secret: str) -> None:
    """Redact `secret` from every line logged from now on: the Northflank tokens of
    stored connections, which no setting lists, become known only while running."""
    for handler in logging.getLogger().handlers:
        redactor = getattr(handler.formatter, "redactor", None)
        if isinstance(redactor, Redactor):
            redactor.add(secret)


def redact(text: str, secrets: Iterable[str]) -> str:
    return Redactor(secrets).text(text)


def extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        key: value
        for key, value in vars(record).items()
        if key not in _STANDARD_ATTRIBUTES and not key.startswith("_")
    }


class RedactingFormatter(logging.Formatter):
    """The default: one readable line, `extra=` context appended in brackets."""

    def __init__(self, secrets: Iterable[str] = (), fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        # The context passed with `extra=` (destination, channel, counts) is what
        # makes a line useful at 3 a.m.; the default formatter drops it.
        context = self.redactor.value(extra_fields(record))
        if context:
            pairs = " ".join(f"{key}={value!r}" for key, value in context.items())
            head, newline, rest = text.partition("\n")
            text = f"{head} [{pairs}]{newline}{rest}"
        return self.redactor.text(text)


class JsonRedactingFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, the `extra=` context and,
    when there is one, the formatted exception."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.redactor = Redactor(secrets)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data["time"] = _utc_iso(record.created)
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        # python-json-logger puts the formatted traceback (and stack) in message_dict.
        if message_dict.get("exc_info"):
            message_dict = {**message_dict, "exception": message_dict["exc_info"]}
            del message_dict["exc_info"]
        for key, value in {**extra_fields(record), **message_dict}.items():
            log_data.setdefault(key, value)  # the four fields above always win

    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        redacted: dict[str, Any] = self.redactor.value(log_data)
        return redacted

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        line = super().serialize_log_record(log_data)
        cleaned = self.redactor.text(line)
        if cleaned == line or _is_json(cleaned):
            return cleaned
        # Only a secret that matched across JSON escaping gets here: say so, validly.
        return json.dumps(
            {
                "time": log_data.get("time"),
                "level": log_data.get("level"),
                "logger": log_data.get("logger"),
                "message": "a log line was withheld: redacting it would have broken its JSON",
            }
        )


def configure(
    secrets: Iterable[str] = (),
    level: int | str = logging.INFO,
    format: LogFormat = "text",  # the name logging.basicConfig uses
) -> None:
    """Send every logger's records to stderr, formatted and redacted; the one entry point."""
    secrets = list(secrets)
    handler = logging.StreamHandler(sys.stderr)
    formatter = JsonRedactingFormatter(secrets) if format == "json" else RedactingFormatter(secrets)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library warnings and exceptions that end a thread (aiosqlite's worker, say) too:
    # otherwise Python prints them raw, unredacted and not as JSON.
    logging.captureWarnings(True)
    threading.excepthook = _log_thread_exception
    debugging = root.getEffectiveLevel() <= logging.DEBUG
    for name in _CHATTY_BELOW_DEBUG:
        logging.getLogger(name).setLevel(logging.NOTSET if debugging else logging.WARNING)
    for name in _ALWAYS_QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def _log_thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return  # what threading's own hook ignores too
    error = args.exc_value or args.exc_type()
    thread = args.thread.name if args.thread is not None else "a thread"
    logging.getLogger("threading").error(
        "an exception ended %s", thread, exc_info=(args.exc_type, error, args.exc_traceback)
    )


def _quoted_forms(secret: str) -> set[str]:
    return {
        secret,
        json.dumps(secret)[1:-1],
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
    }


def _utc_iso(created: float) -> str:
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")


def _is_json(line: str) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


_ENCODER = JsonEncoder()
