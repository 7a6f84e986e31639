"""How polling each destination is going, and how far its first full read got."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, literal, select

from bot.core.watches import PollStatus
from bot.store.database import UTCDateTime
from bot.store.records import ScanState
from bot.store.sessions import UsesSessions
from bot.store.tables import PollStatusRow

_status = PollStatusRow.__table__
# Enough to say what went wrong; an HTML error page need not be kept whole.
MAX_ERROR_LENGTH = 500


class PollQueries(UsesSessions):
    async def poll_statuses(self, destination_ids: Collection[str]) -> dict[str, PollStatus]:
        """By destination id, for the destinations polled at least once (never polled: absent)."""
        if not destination_ids:
            return {}
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(PollStatusRow).where(
                    PollStatusRow.destination_id.in_(destination_ids),
                    # A row only claimed, never polled, says nothing about polling yet.
                    PollStatusRow.last_poll_at.is_not(None),
                )
            )
            return {row.destination_id: _poll_status(row) for row in rows}

    async def record_poll_success(self, destination_id: str, now: datetime) -> PollStatus:
        values = {
            "last_poll_at": now,
            "last_success_at": now,
            "consecutive_failures": 0,
            "failing_since": None,
            "last_error": None,
        }
        return await self._upsert_status(destination_id, values, values)

    async def record_poll_failure(
        self, destination_id: str, now: datetime, error: str
    ) -> PollStatus:
        error = error[:MAX_ERROR_LENGTH]
        first = {
            "last_poll_at": now,
            "consecutive_failures": 1,
            "failing_since": now,
            "last_error": error,
        }
        again = {
            "last_poll_at": now,
            "consecutive_failures": _status.c.consecutive_failures + 1,
            # The outage began with the first failure in the row, not this one.
            "failing_since": func.coalesce(_status.c.failing_since, literal(now, UTCDateTime())),
            "last_error": error,
        }
        return await self._upsert_status(destination_id, first, again)

    async def scan_state(self, destination_id: str) -> ScanState:
        async with self._sessions.read() as session:
            row = await session.get(PollStatusRow, destination_id)
            if row is None:
                return ScanState()
            return ScanState(
                row.scan_complete, row.scan_cursor, row.scan_unreadable, row.scan_attempts
            )

    async def save_scan_state(self, destination_id: str, state: ScanState) -> None:
        values = {
            "scan_complete": state.complete,
            "scan_cursor": state.cursor,
            "scan_unreadable": state.unreadable,
            "scan_attempts": state.attempts,
        }
        await self._upsert_status(destination_id, values, values)

    async def _upsert_status(
        self, destination_id: str, insert: dict[str, Any], update: dict[str, Any]
    ) -> PollStatus:
        async with self._sessions.write() as session:
            statement = (
                self._sessions.insert(_status)
                .values(destination_id=destination_id, **insert)
                .on_conflict_do_update(index_elements=[_status.c.destination_id], set_=update)
                .returning(*_status.c)
            )
            return _poll_status((await session.execute(statement)).one())


def _poll_status(row: PollStatusRow | Row[Any]) -> PollStatus:
    """From an ORM row or a RETURNING row: both carry the same named columns."""
    return PollStatus(
        destination_id=row.destination_id,
        last_poll_at=row.last_poll_at,
        last_success_at=row.last_success_at,
        consecutive_failures=row.consecutive_failures,
        failing_since=row.failing_since,
        last_error=row.last_error,
    )
