"""Northflank-style pagination over an already sorted list of items that have an ``id``.

The cursor names the last item already seen rather than an offset, so items inserted at the
head between two page requests shift nothing: the next page still starts right after that
item, with no repeats and no gaps.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 100


class PaginationError(ValueError):
    """A malformed query parameter; the fake answers it with a 400."""

    def __init__(self, message: str, parameter: str, value: str) -> None:
        super().__init__(message)
        self.details = {"parameter": parameter, "value": value}


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    has_next_page: bool
    cursor: str | None

    def pagination(self) -> dict[str, Any]:
        body: dict[str, Any] = {"hasNextPage": self.has_next_page, "count": len(self.items)}
        # Only present when there is a next page: the official SDK treats any cursor as
        # "there is more", so sending one on the last page would make it loop.
        if self.cursor is not None:
            body["cursor"] = self.cursor
        return body


def encode_cursor(item_id: str) -> str:
    return base64.urlsafe_b64encode(item_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except ValueError as exc:
        raise PaginationError("Invalid cursor", "cursor", cursor) from exc


def paginate(items: Sequence[dict[str, Any]], query: Mapping[str, str]) -> Page:
    """Select one page; ``cursor`` wins over ``page`` when both are given."""
    per_page = min(_positive_int(query, "per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)
    cursor = query.get("cursor")
    if cursor:
        start = _index_after(items, cursor)
    else:
        start = (_positive_int(query, "page", 1) - 1) * per_page
    chunk = list(items[start : start + per_page])
    has_next = start + per_page < len(items)
    next_cursor = encode_cursor(str(chunk[-1]["id"])) if has_next and chunk else None
    return Page(chunk, has_next, next_cursor)


def _positive_int(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise PaginationError(f"{name} must be an integer", name, raw) from None
    if value < 1:
        raise PaginationError(f"{name} must be at least 1", name, raw)
    return value


def _index_after(items: Sequence[dict[str, Any]], cursor: str) -> int:
    item_id = decode_cursor(cursor)
    for index, item in enumerate(items):
        if item.get("id") == item_id:
            return index + 1
    raise PaginationError("Invalid cursor", "cursor", cursor)
