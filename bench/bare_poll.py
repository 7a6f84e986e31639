"""The bare loop: what any poll must do, with nothing of the bot's (issue 17's floors).

httpx reads a destination's page, json decodes it, each item becomes a row as
plainly as Python allows, and asyncpg upserts the rows (unchanged rows
untouched) and a poll time in one transaction. bench.poll_steady runs it once
per destination for the steady poll; bench.poll_cost follows the cursor
through every page for the first full read. The ratio of the bot to it is
what the bot's rules, leases, ledger and bookkeeping cost on top.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import httpx

from bot.northflank.client import MAX_PER_PAGE
from bot.store.database import async_target
from tests.fakes.northflank import DEFAULT_TOKEN

FLOOR_TABLES = """
CREATE TABLE floor_backups (LIKE known_backups INCLUDING ALL);
CREATE TABLE floor_status (destination_id text PRIMARY KEY, last_poll_at timestamptz)
"""
_COLUMNS = [
    "destination_id",
    "backup_id",
    "name",
    "status",
    "status_since",
    "first_seen_at",
    "created_at",
    "completed_at",
    "expires_at",
    "size_bytes",
    "addon_id",
    "addon_name",
    "addon_type",
    "addon_version",
    "project_id",
    "project_name",
    "schedules",
]
_UPDATED = [c for c in _COLUMNS if c not in {"destination_id", "backup_id", "first_seen_at"}]
_COMPARED = [c for c in _UPDATED if c != "status_since"]
# Built from the constant column names above, never from input.
UPSERT_BACKUPS = (
    f"INSERT INTO floor_backups ({', '.join(_COLUMNS)}) "  # noqa: S608
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(_COLUMNS) + 1))}) "
    "ON CONFLICT (destination_id, backup_id) DO UPDATE SET "
    f"{', '.join(f'{c} = EXCLUDED.{c}' for c in _UPDATED)} "
    f"WHERE ({', '.join(f'floor_backups.{c}' for c in _COMPARED)}) "
    f"IS DISTINCT FROM ({', '.join(f'EXCLUDED.{c}' for c in _COMPARED)})"
)
UPSERT_STATUS = (
    "INSERT INTO floor_status (destination_id, last_poll_at) VALUES ($1, $2) "
    "ON CONFLICT (destination_id) DO UPDATE SET last_poll_at = EXCLUDED.last_poll_at"
)


def _when(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def floor_row(destination_id: str, item: dict[str, Any], now: datetime) -> tuple[Any, ...]:
    """The same columns the bot stores, converted as plainly as Python allows."""
    config = item.get("config") or {}
    addon = item.get("addon") or {}
    project = item.get("project") or {}
    created = _when(item.get("createdAt"))
    expired_by = item.get("expiredBy")
    return (
        destination_id,
        item["id"],
        item.get("name") or item["id"],
        item["status"],
        created,
        now,
        created,
        _when(item.get("completedAt")),
        datetime.fromtimestamp(expired_by / 1000, UTC) if expired_by else None,
        int(config.get("size") or 0),
        addon.get("id"),
        addon.get("name"),
        config.get("addonType"),
        config.get("addonVersion"),
        project.get("id"),
        project.get("name"),
        json.dumps(item.get("schedules") or []),
    )


async def bare_pool(url: str, size: int) -> Any:
    """An asyncpg pool on the schema of `url` (a SQLAlchemy URL from tests.databases),
    with the floor's own tables, beside the bot's migrated ones."""
    # The bot's own translation of the URL for asyncpg: its options= become settings.
    target = async_target(url)
    dsn = target.url.set(drivername="postgresql").render_as_string(hide_password=False)
    pool = await asyncpg.create_pool(
        dsn,
        min_size=size,
        max_size=size,
        server_settings=target.connect_args.get("server_settings"),
    )
    async with pool.acquire() as connection:
        await connection.execute(FLOOR_TABLES)
    return pool


def bare_http(northflank_url: str) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
    return httpx.AsyncClient(base_url=northflank_url, headers=headers)


@dataclass
class BareCpu:
    """CPU seconds of bare polls: all of it, the HTTP request with json.loads, and
    the items' conversion to rows (the rest is the database's)."""

    total: float = 0.0
    http_and_json: float = 0.0
    rows: float = 0.0


async def bare_poll_page(
    http: httpx.AsyncClient,
    pool: Any,
    destination_id: str,
    cursor: str | None = None,
    cpu: BareCpu | None = None,
) -> str | None:
    """Read one page, store its rows; the next page's cursor, or None at the end."""
    started = time.process_time()
    params: dict[str, str | int] = {"per_page": MAX_PER_PAGE}
    if cursor is not None:
        params["cursor"] = cursor
    response = await http.get(f"/v1/backup-destinations/{destination_id}/backups", params=params)
    response.raise_for_status()
    body = response.json()
    decoded = time.process_time()
    now = datetime.now(UTC)
    rows = [floor_row(destination_id, item, now) for item in body["data"]]
    converted = time.process_time()
    async with pool.acquire() as connection, connection.transaction():
        await connection.executemany(UPSERT_BACKUPS, rows)
        await connection.execute(UPSERT_STATUS, destination_id, now)
    if cpu is not None:
        cpu.http_and_json += decoded - started
        cpu.rows += converted - decoded
        cpu.total += time.process_time() - started
    pagination = body.get("pagination") or {}
    return pagination.get("cursor") if pagination.get("hasNextPage") else None


async def bare_first_read(url: str, northflank_url: str, destination_id: str) -> BareCpu:
    """CPU of the bare loop following the cursor through every page, on a fresh
    schema's floor tables (`url`), with a warm connection and pool as the bot's."""
    cpu = BareCpu()
    pool = await bare_pool(url, 1)
    try:
        async with bare_http(northflank_url) as http:
            await http.get(f"/v1/backup-destinations/{destination_id}/backups?per_page=1")
            cursor = await bare_poll_page(http, pool, destination_id, cpu=cpu)
            while cursor is not None:
                cursor = await bare_poll_page(http, pool, destination_id, cursor, cpu)
    finally:
        await pool.close()
    return cpu
