"""Plain-text tables and JSON for the CLI. Pure."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core import humanize
from bot.core.alerts import Alert
from bot.core.backups import Backup, Destination
from bot.core.watches import Watch

BACKUP_COLUMNS = ("STATUS", "NAME", "ADDON", "PROJECT", "SIZE", "CREATED", "DURATION", "EXPIRES")


def backups_table(backups: Sequence[Backup], now: datetime) -> str:
    rows = [
        (
            b.status_text,
            b.name,
            _addon_cell(b),
            b.project.name if b.project else "-",
            humanize.size(b.size_bytes),
            humanize.utc(b.created_at),
            humanize.duration(b.duration_seconds),
            humanize.time_until(b.expires_at, now),
        )
        for b in backups
    ]
    return table(BACKUP_COLUMNS, rows)


def destinations_table(destinations: Sequence[Destination]) -> str:
    rows = [(d.id, d.name, d.type or "-", d.usage or "-") for d in destinations]
    return table(("ID", "NAME", "TYPE", "USAGE"), rows)


def check_report(
    alerts: Sequence[tuple[Watch, Alert]],
    failures: Sequence[tuple[str, str]],
    *,
    destinations: int,
    requests: int,
    left_for_later: int = 0,
    budget: str | None = None,
) -> str:
    """What `check` prints: the alerts one poll would post, and what could not be read."""
    lines = [f"polled {destinations} destination(s) with {requests} request(s)"]
    if left_for_later:
        # The API budget, as the poll planned it (the documented 1,000 an hour until
        # a response says otherwise): a check must not spend the token's hour.
        lines.append(f"left {left_for_later} destination(s) for later to spare the API budget")
        if budget:
            lines.append(f"budget: {budget}")
    for destination_id, error in failures:
        lines.append(f"could not poll {destination_id}: {error}")
    if not alerts:
        lines.append("no alerts would be posted")
        return "\n".join(lines)
    lines.append(f"{len(alerts)} alert(s) would be posted:")
    rows = [
        (
            watch.channel,
            watch.destination_name,
            alert.event.value,
            alert.backup.name if alert.backup else alert.subject,
            alert.addon.name if alert.addon else "-",
            humanize.utc(alert.occurred_at),
        )
        for watch, alert in alerts
    ]
    lines.append(table(("CHANNEL", "DESTINATION", "EVENT", "ABOUT", "ADDON", "SINCE"), rows))
    return "\n".join(lines)


def plain_lines(lines: Sequence[str]) -> str:
    """Sentences for the terminal, with any control character from the API made harmless."""
    return "\n".join("".join(ch if ch.isprintable() else "?" for ch in line) for line in lines)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cleaned = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in header]
    for row in cleaned:
        widths = [max(w, len(v)) for w, v in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cleaned
    ]
    return "\n".join(lines)


def backup_json(backup: Backup) -> dict[str, Any]:
    return {
        "id": backup.id,
        "name": backup.name,
        "status": backup.status_text,
        "addon": _ref_json(backup.addon),
        "addonType": backup.addon_type,
        "addonVersion": backup.addon_version,
        "project": _ref_json(backup.project),
        "sizeBytes": backup.size_bytes,
        "createdAt": _iso(backup.created_at),
        "completedAt": _iso(backup.completed_at),
        "durationSeconds": backup.duration_seconds,
        "expiresAt": _iso(backup.expires_at),
    }


def destination_json(destination: Destination) -> dict[str, Any]:
    return {
        "id": destination.id,
        "name": destination.name,
        "type": destination.type,
        "usage": destination.usage,
    }


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _addon_cell(backup: Backup) -> str:
    kind = " ".join(p for p in (backup.addon_type, backup.addon_version) if p)
    name = backup.addon.name if backup.addon else ""
    if name and kind:
        return f"{name} ({kind})"
    return name or kind or "-"


def _cell(value: str) -> str:
    # Terminal control characters from the API must not reach the operator's terminal.
    printable = "".join(ch if ch.isprintable() else "?" for ch in value)
    return printable if len(printable) <= 60 else printable[:59] + "…"


def _ref_json(ref: Any) -> dict[str, str] | None:
    return {"id": ref.id, "name": ref.name} if ref is not None else None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None
