"""How polling each destination is going, and how far its first full read got."""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import BindParameter, Update, bindparam, case, func, select, update

from bot.core.watches import PollStatus
from bot.store.records import ScanState
from bot.store.sessions import Executor, NamedRow, UsesSessions
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

    async def record_poll_success(
        self, destination_id: str, now: datetime, *, release: str | None = None
    ) -> PollStatus:
        """`release`: the replica whose lease on the destination ends with this write."""
        first = {
            "last_poll_at": now,
            "last_success_at": now,
            "consecutive_failures": 0,
            "failing_since": None,
            "last_error": None,
        }
        return await self._upsert_status(destination_id, "success", first, release=release)

    async def record_poll_failure(
        self, destination_id: str, now: datetime, error: str, *, release: str | None = None
    ) -> PollStatus:
        first = {
            "last_poll_at": now,
            "consecutive_failures": 1,
            "failing_since": now,
            "last_error": error[:MAX_ERROR_LENGTH],
        }
        return await self._upsert_status(destination_id, "failure", first, release=release)

    async def scan_state(self, destination_id: str) -> ScanState:
        async with self._sessions.read() as session:
            return (await read_poll_row(session, destination_id))[1]

    async def save_scan_state(self, destination_id: str, state: ScanState) -> None:
        values = {
            "scan_complete": state.complete,
            "scan_cursor": state.cursor,
            "scan_unreadable": state.unreadable,
            "scan_attempts": state.attempts,
        }
        await self._upsert_status(destination_id, "scan", values)

    async def _upsert_status(
        self,
        destination_id: str,
        kind: _Kind,
        first: dict[str, Any],
        *,
        release: str | None = None,
    ) -> PollStatus:
        """`first`: the row's values were it the destination's first; the update to an
        existing row is `kind`'s (a failure counts on from the row's own count)."""
        parameters = {f"v_{name}": value for name, value in first.items()}
        parameters["v_destination_id"] = destination_id
        if release is not None:
            parameters["v_release"] = release
        async with self._sessions.write_connection() as session:
            # The row is there but for a destination's first poll: a plain UPDATE,
            # built and compiled once (SQLAlchemy compiles its dialect INSERT ... ON
            # CONFLICT anew on every call), and the upsert only when it is not.
            updated = (
                await session.execute(_status_update(kind, release is not None), parameters)
            ).first()
            if updated is not None:
                return _poll_status(updated)
            statement = (
                self._sessions.insert(_status)
                .values(destination_id=destination_id, **first)
                .on_conflict_do_update(
                    index_elements=[_status.c.destination_id],
                    set_=_update_values(kind, release is not None),
                )
                .returning(*_status.c)
            )
            return _poll_status((await session.execute(statement, parameters)).one())


_Kind = Literal["success", "failure", "scan"]


def _bound(name: str) -> BindParameter[Any]:
    return bindparam(f"v_{name}", type_=_status.c[name].type)


def _update_values(kind: _Kind, release: bool) -> dict[str, Any]:
    """What an existing row's columns become, as bound parameters named v_<column>."""
    if kind == "failure":
        values: dict[str, Any] = {
            "last_poll_at": _bound("last_poll_at"),
            "consecutive_failures": _status.c.consecutive_failures + 1,
            # The outage began with the first failure in the row, not this one.
            "failing_since": func.coalesce(_status.c.failing_since, _bound("last_poll_at")),
            "last_error": _bound("last_error"),
        }
    elif kind == "success":
        values = {
            name: _bound(name)
            for name in (
                "last_poll_at",
                "last_success_at",
                "consecutive_failures",
                "failing_since",
                "last_error",
            )
        }
    else:
        values = {
            name: _bound(name)
            for name in ("scan_complete", "scan_cursor", "scan_unreadable", "scan_attempts")
        }
    if release:
        # Only a lease that is still ours: an expired one may have moved on.
        ours = _status.c.lease_owner == bindparam("v_release")
        values["lease_owner"] = case((ours, None), else_=_status.c.lease_owner)
        values["lease_expires_at"] = case((ours, None), else_=_status.c.lease_expires_at)
    return values


@functools.cache
def _status_update(kind: _Kind, release: bool) -> Update:
    return (
        update(_status)
        .where(_status.c.destination_id == bindparam("v_destination_id"))
        .values(**_update_values(kind, release))
        .returning(*_status.c)
    )


# Run on every poll: built once (see bot/store/backups.py).
_POLL_ROW = select(_status).where(_status.c.destination_id == bindparam("destination_id"))


async def read_poll_row(
    session: Executor, destination_id: str
) -> tuple[PollStatus | None, ScanState]:
    """How polling the destination went (None: never polled), and its first full read."""
    row = (await session.execute(_POLL_ROW, {"destination_id": destination_id})).first()
    return poll_row_of(row)


def poll_row_of(row: NamedRow | None) -> tuple[PollStatus | None, ScanState]:
    """A poll row as read (or returned by the claim): its status (None: never polled)
    and its first full read."""
    if row is None:
        return None, ScanState()
    scan = ScanState(row.scan_complete, row.scan_cursor, row.scan_unreadable, row.scan_attempts)
    return (_poll_status(row) if row.last_poll_at is not None else None), scan


def _poll_status(row: PollStatusRow | NamedRow) -> PollStatus:
    """From an ORM row or a RETURNING row: both carry the same named columns."""
    return PollStatus(
        destination_id=row.destination_id,
        last_poll_at=row.last_poll_at,
        last_success_at=row.last_success_at,
        consecutive_failures=row.consecutive_failures,
        failing_since=row.failing_since,
        last_error=row.last_error,
    )
