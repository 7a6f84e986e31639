"""Builders for Northflank payloads in the documented shapes, and ways to corrupt them.

Shapes follow /work/shared/reference/northflank-api.md and the "list destinations backups"
page beside it. Builders produce the clean shape; ``**raw`` overrides and ``MISSING`` let a
test reproduce the quirks real responses have (string ``expiredBy``, absent ``completedAt``).
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any, Final

# Statuses after which a backup really has a completion time.
FINISHED_STATUSES: Final = frozenset({"completed", "failed", "aborted", "not-supported"})
DEFAULT_RETENTION: Final = timedelta(days=7)
_DEFAULT_DURATION: Final = timedelta(seconds=90)


class _Missing:
    """Type of ``MISSING``."""

    def __repr__(self) -> str:
        return "MISSING"


# Pass as a raw override to drop a field entirely, e.g. ``make_backup("b", completedAt=MISSING)``.
MISSING: Final = _Missing()


def iso(moment: datetime) -> str:
    """Northflank's timestamp format: UTC, millisecond precision, ``Z`` suffix."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def make_backup(
    id: str,
    *,
    name: str | None = None,
    status: str = "completed",
    created_at: datetime | None = None,
    completed_at: datetime | None = None,
    addon: tuple[str, str] | None = ("addon-1", "Postgres"),
    project: tuple[str, str] | None = ("project-1", "Project One"),
    addon_type: str | None = "postgresql",
    addon_version: str | None = "16",
    size: int = 1234,
    expired_by: datetime | None = None,
    schedules: list[dict[str, Any]] | None = None,
    source_type: str | None = "global",
    **raw: Any,
) -> dict[str, Any]:
    """One item of ``GET /v1/backup-destinations/{id}/backups``.

    Defaults: ``created_at`` now; ``completed_at`` 90 s after creation for finished statuses
    and absent otherwise; ``expired_by`` 7 days after creation, as epoch ms (a JSON number).
    ``addon``/``project`` are ``(id, name)`` or None to omit them. ``raw`` replaces top-level
    fields verbatim after everything else (``MISSING`` deletes one).
    """
    created = created_at or datetime.now(UTC)
    config: dict[str, Any] = {"size": str(size)}
    if addon_version is not None:
        config["addonVersion"] = addon_version
    if addon_type is not None:
        config["addonType"] = addon_type
    if source_type is not None:
        config["source"] = {"type": source_type}
    backup: dict[str, Any] = {
        "id": id,
        "name": name if name is not None else f"Backup {id}",
        "status": status,
    }
    if project is not None:
        backup["project"] = {"id": project[0], "name": project[1]}
    if addon is not None:
        backup["addon"] = {"id": addon[0], "name": addon[1]}
    backup["config"] = config
    backup["schedules"] = copy.deepcopy(schedules) if schedules is not None else []
    backup["expiredBy"] = epoch_ms(expired_by or created + DEFAULT_RETENTION)
    backup["createdAt"] = iso(created)
    if completed_at is not None:
        backup["completedAt"] = iso(completed_at)
    elif status in FINISHED_STATUSES:
        backup["completedAt"] = iso(created + _DEFAULT_DURATION)
    return _apply_raw(backup, raw)


def make_destination(
    id: str, name: str, *, description: str | None = None, **raw: Any
) -> dict[str, Any]:
    """One backup destination as listed by ``GET /v1/backup-destinations`` (no credentials)."""
    destination: dict[str, Any] = {
        "id": id,
        "name": name,
        "type": "s3",
        "usage": "globalBackups",
        "prefix": "",
    }
    if description is not None:
        destination["description"] = description
    return _apply_raw(destination, raw)


def _apply_raw(item: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    for key, value in raw.items():
        if value is MISSING:
            item.pop(key, None)
        else:
            item[key] = copy.deepcopy(value)
    return item


def with_wrong_types(body: dict[str, Any]) -> dict[str, Any]:
    """The same response with fields of the wrong JSON type, for validation tests."""
    data = body.get("data")
    if isinstance(data, dict) and isinstance(data.get("backupDestinations"), list):
        items: list[Any] = data["backupDestinations"]
    elif isinstance(data, list):
        items = data
    else:
        items = [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        item["status"] = 3
        item["name"] = 42
        item["createdAt"] = 1_700_000_000
        if isinstance(item.get("config"), dict):
            item["config"]["size"] = [1234]
        if "addon" in item:
            item["addon"] = "not-an-object"
    return body


def with_wrong_shape(body: dict[str, Any]) -> dict[str, Any]:
    """The same response with ``data`` an object where an array belongs, and vice versa."""
    data = body.get("data")
    body["data"] = {"items": data} if isinstance(data, list) else [data]
    return body
