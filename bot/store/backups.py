"""What the bot knows of each destination's backups, and the per-addon summaries.

A poll saves every page it reads. The rules then see only what can still
raise an alert (`destination_state`), so their cost does not grow with a
destination's history.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import (
    BigInteger,
    Interval,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.backups import Backup, BackupStatus
from bot.core.destination_state import DestinationState
from bot.core.watches import DestinationSummary
from bot.store.addons import addon_summaries, kept_runs, upsert_addons
from bot.store.backup_rows import COMPARED, backup_from_row, backup_row
from bot.store.database import JSONText, UTCDateTime
from bot.store.destination_reads import FAILED, read_destination_state
from bot.store.records import SaveResult
from bot.store.sessions import Sessions, UsesSessions, rowcount
from bot.store.tables import AddonRow, KnownBackupRow

_known = KnownBackupRow.__table__
_addons = AddonRow.__table__
_JSON_COLUMNS = tuple(column.name for column in _known.c if isinstance(column.type, JSONText))
_DATETIME_COLUMNS = tuple(
    column.name for column in _known.c if isinstance(column.type, UTCDateTime)
)
# Rows per INSERT: far below both databases' limits on bound parameters.
_CHUNK = 500

T = TypeVar("T")


class BackupQueries(UsesSessions):
    async def forget_backups(self, destination_id: str, backup_ids: Collection[str]) -> int:
        """Drop backups Northflank no longer lists (deleted), so no poll chases them."""
        if not backup_ids:
            return 0
        async with self._sessions.poll_write() as session:
            result = await session.execute(
                delete(_known).where(
                    _known.c.destination_id == destination_id,
                    _known.c.backup_id.in_(list(backup_ids)),
                )
            )
            return rowcount(result)

    async def known_statuses(
        self, destination_id: str, backup_ids: Collection[str]
    ) -> dict[str, str]:
        """Stored status text by backup id, for those of `backup_ids` already known."""
        async with self._sessions.read() as session:
            return await _stored_statuses(session, destination_id, backup_ids)

    async def save_backups(
        self,
        destination_id: str,
        backups: Sequence[Backup],
        now: datetime,
        *,
        stored: Mapping[str, dict[str, Any]] | None = None,
    ) -> SaveResult:
        """Remember a page of backups: a handful of statements, however long the page.

        `stored`: rows already read this poll (`begin_poll`'s newest). When they
        hold the whole page, it is compared with them, and a page that changed
        nothing costs no statement at all.
        """
        by_id: dict[str, Backup] = {}
        for backup in backups:
            by_id.setdefault(backup.id, backup)
        if not by_id:
            return SaveResult(new=0, changed=0)
        rows = [backup_row(destination_id, backup, now) for backup in by_id.values()]
        if stored is not None and all(backup_id in stored for backup_id in by_id):
            if not any(_differs(row, stored[row["backup_id"]]) for row in rows):
                known = {backup_id: stored[backup_id]["status"] for backup_id in by_id}
                return SaveResult(new=0, changed=0, known_before=known)
        else:
            stored = None
        async with self._sessions.poll_write() as session:
            if stored is None:
                stored = await _stored_rows(session, destination_id, rows)
            known = {
                backup_id: stored[backup_id]["status"] for backup_id in by_id if backup_id in stored
            }
            # Only what is new or changed is written: a steady poll re-reads a page
            # of backups the store already holds as they are, and rewriting each
            # row (and its indexes) every poll was most of the poll's cost.
            changed_rows = [row for row in rows if _differs(row, stored.get(row["backup_id"]))]
            if changed_rows:
                await _write_rows(self._sessions, session, changed_rows)
                # The addon summaries move only forward, from what the backups say:
                # a page whose every row is stored as it is has nothing new for them.
                kept = await kept_runs(session, destination_id, by_id.values())
                addon_rows = addon_summaries(destination_id, by_id.values(), known, kept, now)
                if addon_rows:
                    upsert = self._sessions.rendered_once(upsert_addons, list(addon_rows[0]))
                    await session.execute(upsert, addon_rows)
        changed = sum(1 for b in by_id.values() if b.id in known and known[b.id] != b.status_text)
        return SaveResult(
            new=len(by_id) - len(known),
            changed=changed,
            known_before=known,
            written=len(changed_rows),
        )

    async def destination_state(
        self,
        destination_id: str,
        now: datetime,
        *,
        lookback: timedelta,
        horizon: timedelta,
    ) -> DestinationState:
        """The backups that can still raise an alert, and every addon's summary."""
        async with self._sessions.poll_read() as session:
            state, _ = await read_destination_state(
                session, destination_id, now, lookback=lookback, horizon=horizon
            )
            return state

    async def backups_created_since(self, destination_id: str, since: datetime) -> list[Backup]:
        """Every known backup of the destination created at or after `since`, oldest first
        (a report's period and the baseline before it)."""
        k = KnownBackupRow
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(k)
                .where(k.destination_id == destination_id, k.created_at >= since)
                .order_by(k.created_at, k.backup_id)
            )
            return [backup_from_row(row) for row in rows]

    async def oldest_backup_created_at(self, destination_id: str) -> datetime | None:
        async with self._sessions.read() as session:
            oldest: datetime | None = await session.scalar(
                select(func.min(KnownBackupRow.created_at)).where(
                    KnownBackupRow.destination_id == destination_id
                )
            )
            return oldest

    async def destination_summary(
        self, destination_id: str, now: datetime, *, complete: bool
    ) -> DestinationSummary:
        k = KnownBackupRow
        async with self._sessions.read() as session:
            counted = await session.execute(
                select(k.status, func.count())
                .where(k.destination_id == destination_id)
                .group_by(k.status)
            )
            counts = dict(counted.tuples().all())
            failing = await session.scalars(
                select(k)
                .join(
                    AddonRow,
                    and_(
                        AddonRow.destination_id == k.destination_id,
                        AddonRow.latest_backup_id == k.backup_id,
                    ),
                )
                .where(k.destination_id == destination_id, k.status.in_(FAILED))
                .order_by(k.created_at.desc(), k.backup_id)
            )
            failing_backups = tuple(backup_from_row(row) for row in failing)
            expiring = await session.scalars(
                select(k)
                .where(
                    k.destination_id == destination_id,
                    k.status == BackupStatus.COMPLETED.value,
                    k.expires_at > now,
                )
                .order_by(k.expires_at, k.backup_id)
                .limit(3)
            )
            return DestinationSummary(
                total=sum(counts.values()),
                counts=counts,
                failing=failing_backups,
                next_expiries=tuple(backup_from_row(row) for row in expiring),
                complete=complete,
            )


# Run for each page of a first read: built once (see bot/store/destination_reads.py).
_IN_SPAN = select(*(_known.c[name] for name in COMPARED)).where(
    _known.c.destination_id == bindparam("destination_id"),
    _known.c.created_at >= bindparam("oldest"),
    _known.c.created_at <= bindparam("newest"),
)


async def _write_rows(
    sessions: Sessions, session: AsyncSession, rows: list[dict[str, Any]]
) -> None:
    """Upsert `backup_row`s, compiled once and cached either way (`rendered_once`)."""
    if sessions.dialect != "postgresql":
        # One statement executed for many rows, where `.values([...])` would
        # compile a new statement every page.
        await session.execute(sessions.rendered_once(upsert_backups, list(rows[0])), rows)
        return
    # PostgreSQL takes the page as one JSON text, unpacked by the server
    # (json_to_recordset). An array per column (unnest) had asyncpg check every
    # element's type against the collection ABCs and SQLAlchemy run every element
    # through its column's type (issue 17). Times go as whole microseconds since
    # the epoch: exact, and five times cheaper to write than ISO 8601.
    page = [dict(row) for row in rows]
    try:
        for row in page:
            for name in _DATETIME_COLUMNS:
                value = row[name]
                if value is not None:
                    row[name] = (value - _EPOCH) // _MICROSECOND
    except TypeError as naive:  # as UTCDateTime refuses it
        raise ValueError("a naive datetime cannot be stored; use UTC") from naive
    page_text = json.dumps(page, separators=(",", ":"))
    upsert = sessions.rendered_once(upsert_backup_page, ["page"])
    await session.execute(upsert, {"page": page_text})


def upsert_backups(sessions: Sessions) -> Any:
    """INSERT ... ON CONFLICT for known_backups rows, as `backup_row` makes them."""
    return _on_conflict(sessions.insert(_known))


def upsert_backup_page(sessions: Sessions) -> Any:
    """`upsert_backups` on PostgreSQL for a page of rows given as one JSON array of
    objects (bound as `page`, times in microseconds since the epoch):
    INSERT ... SELECT FROM json_to_recordset(...)."""
    names = list(_known.c.keys())
    # A JSON column arrives as JSON inside the page and is stored as its text,
    # which is the page's own text of it: json.dumps wrote both alike.
    fields = [column(name, _page_type(_known.c[name].type)) for name in names]
    incoming = (
        func.json_to_recordset(cast(bindparam("page", type_=Text), JSON))
        .table_valued(*fields)
        .render_derived(name="incoming", with_types=True)
    )
    values = [_stored_value(name, incoming.c[name]) for name in names]
    return _on_conflict(sessions.insert(_known).from_select(names, select(*values)))


def _page_type(stored: Any) -> Any:
    if isinstance(stored, JSONText):
        return JSON
    return BigInteger if isinstance(stored, UTCDateTime) else stored


def _stored_value(name: str, incoming: Any) -> Any:
    if name in _JSON_COLUMNS:
        return cast(incoming, Text)
    if name in _DATETIME_COLUMNS:
        # Exact: the interval is multiplied in whole microseconds (checked to the
        # microsecond, both sides of the epoch, in tests/store/test_backups.py).
        return _EPOCH_SQL + incoming * _MICROSECOND_SQL
    return incoming


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_EPOCH_SQL = literal_column("TIMESTAMPTZ 'epoch'", UTCDateTime())
_MICROSECOND_SQL = literal_column("INTERVAL '1 microsecond'", Interval())


def _on_conflict(insert: Any) -> Any:
    new = insert.excluded
    refreshed: dict[str, Any] = {
        column.name: new[column.name]
        for column in _known.c
        if column.name not in {"destination_id", "backup_id", "first_seen_at", "status_since"}
    }
    # Decided in SQL against the row as it is now, not as it was read a moment
    # ago, so a concurrent poll of the same destination cannot confuse it.
    # A changed status dates from now, the save's time, which every row
    # carries as its first_seen_at.
    refreshed["status_since"] = case(
        (_known.c.status == new.status, _known.c.status_since),
        else_=new.first_seen_at,
    )
    return insert.on_conflict_do_update(
        index_elements=[_known.c.destination_id, _known.c.backup_id], set_=refreshed
    )


async def _stored_rows(
    session: AsyncSession, destination_id: str, rows: Sequence[dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The stored rows of those of `rows` (`backup_row`s) already known, by id.

    Asked by the page's span of createdAt, not by its ids: a page is a run of
    backups in createdAt order, the span walks the (destination_id, created_at)
    index, and the statement, unlike an IN list of a hundred ids, is compiled once.
    A stored row in the span that is not on the page is passed over.
    """
    created = [row["created_at"] for row in rows]
    found = await session.execute(
        _IN_SPAN,
        {"destination_id": destination_id, "oldest": min(created), "newest": max(created)},
    )
    wanted = {row["backup_id"] for row in rows}
    return {
        stored["backup_id"]: dict(stored)
        for stored in found.mappings()
        if stored["backup_id"] in wanted
    }


def _differs(row: dict[str, Any], stored: dict[str, Any] | None) -> bool:
    return stored is None or any(row[name] != stored[name] for name in COMPARED)


async def _stored_statuses(
    session: AsyncSession, destination_id: str, backup_ids: Collection[str]
) -> dict[str, str]:
    found: dict[str, str] = {}
    for chunk in _chunks(list(backup_ids)):
        rows = await session.execute(
            select(KnownBackupRow.backup_id, KnownBackupRow.status).where(
                KnownBackupRow.destination_id == destination_id,
                KnownBackupRow.backup_id.in_(chunk),
            )
        )
        found.update(rows.tuples().all())
    return found


def _chunks(items: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
