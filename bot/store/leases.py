"""Leases on destinations: which replica polls which destination, this interval.

PostgreSQL does the coordinating. A replica claims one due destination at a
time with `SELECT ... FOR UPDATE SKIP LOCKED`, so replicas claiming at once
never wait on each other or get the same row, and it marks the row with its
id and an expiry. Polling records `last_poll_at`, which makes the destination
not due again for an interval, and then the lease is released. A replica that
dies releases nothing: its leases run out, and whoever claims next takes the
destination over. On SQLite the same statements run; the write lock taken at
BEGIN serialises them, and there is only ever one replica.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Exists,
    Update,
    bindparam,
    exists,
    func,
    or_,
    select,
    true,
    update,
)

from bot.core.watches import WatchState
from bot.store.sessions import UsesSessions
from bot.store.tables import PollStatusRow, WatchRow

_status = PollStatusRow.__table__
T = TypeVar("T")


def _watched() -> Exists:
    return exists().where(
        WatchRow.destination_id == PollStatusRow.destination_id,
        WatchRow.state != WatchState.DISABLED.value,
    )


def _free(now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    return or_(PollStatusRow.lease_expires_at.is_(None), PollStatusRow.lease_expires_at <= now)


def _due(due_before: datetime | BindParameter[Any] | None) -> ColumnElement[bool]:
    if due_before is None:
        return true()
    return or_(PollStatusRow.last_poll_at.is_(None), PollStatusRow.last_poll_at <= due_before)


class LeaseQueries(UsesSessions):
    async def ensure_poll_rows(self) -> None:
        """A poll_status row for every watched destination: the row is what a lease locks."""
        watched = (
            select(WatchRow.destination_id)
            .where(WatchRow.state != WatchState.DISABLED.value)
            .distinct()
        )
        async with self._sessions.write() as session:
            await session.execute(
                self._sessions.insert(_status)
                .from_select(["destination_id"], watched)
                .on_conflict_do_nothing(index_elements=[_status.c.destination_id])
            )

    async def claim_destination(
        self,
        owner: str,
        *,
        now: datetime,
        until: datetime,
        due_before: datetime | None,
        only: str | None = None,
        among: Collection[str] | None = None,
        exclude: Collection[str] = (),
    ) -> str | None:
        """Lease the watched destination polled longest ago that is due and free; its id.

        `due_before=None` takes any free destination, due or not (a forced poll).
        `among` limits the claim to one connection's destinations (each connection
        is claimed within its own budget); `exclude` names destinations this
        replica already tried this cycle.
        """
        statement, parameters = claim_statement(
            owner,
            now=now,
            until=until,
            due_before=due_before,
            only=only,
            among=among,
            exclude=exclude,
            build=claim_update,
        )
        async with self._sessions.write_connection() as session:
            claimed: str | None = await session.scalar(statement, parameters)
            return claimed

    async def release_destination(self, owner: str, destination_id: str) -> None:
        """Give the lease back (only if it is still ours: an expired one may have moved on)."""
        async with self._sessions.write() as session:
            await session.execute(
                update(_status)
                .where(_status.c.destination_id == destination_id, _status.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    async def next_lease_expiry(
        self,
        owner: str,
        *,
        now: datetime,
        due_before: datetime,
        among: Collection[str] | None = None,
    ) -> datetime | None:
        """When the first due destination leased by another replica becomes free.

        A replica that died holds its leases until then; the scheduler looks
        again at that moment rather than a whole interval later.
        """
        query = select(func.min(PollStatusRow.lease_expires_at)).where(
            _watched(),
            _due(due_before),
            PollStatusRow.lease_expires_at > now,
            PollStatusRow.lease_owner != owner,
        )
        if among is not None:
            query = query.where(PollStatusRow.destination_id.in_(among))
        # Within the polls' share of the pool: every connection's poll ends with this
        # read, and with several replicas they end together, as the last free
        # destinations are claimed. Past the pool, each opened a connection of its own
        # (8 to 10 of 12 to 17 opened per steady cycle at 3,000 destinations,
        # bench.poll_scale; issue 17).
        async with self._sessions.poll_read() as session:
            expiry: datetime | None = await session.scalar(query)
            return expiry

    async def leases(self) -> dict[str, tuple[str, datetime]]:
        """Destination id -> (owner, expiry), for every lease held (tests and ops)."""
        async with self._sessions.read() as session:
            rows = await session.execute(
                select(
                    PollStatusRow.destination_id,
                    PollStatusRow.lease_owner,
                    PollStatusRow.lease_expires_at,
                ).where(PollStatusRow.lease_owner.is_not(None))
            )
            return {
                destination_id: (owner, expiry)
                for destination_id, owner, expiry in rows
                if owner is not None and expiry is not None
            }


@functools.cache
def claim_update(*, due: bool, only: bool, among: bool) -> Update:
    """The claim for this combination of filters, built once with bound parameters."""
    destination_id = PollStatusRow.destination_id
    query = (
        select(destination_id)
        .where(
            _watched(),
            _free(bindparam("now")),
            destination_id.not_in(bindparam("exclude", expanding=True)),
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if only:
        query = query.where(destination_id == bindparam("only"))
    if among:
        query = query.where(destination_id.in_(bindparam("among", expanding=True)))
    # Never polled first, then the longest ago. Two subqueries rather than one
    # ORDER BY ... NULLS FIRST, so that both walk the (last_poll_at,
    # destination_id) index on either database instead of sorting every row;
    # COALESCE asks the second only when the first finds nothing. One UPDATE
    # around them: the claim is a single statement.
    never_polled = query.where(PollStatusRow.last_poll_at.is_(None)).order_by(destination_id)
    polled = query.where(
        PollStatusRow.last_poll_at.is_not(None),
        _due(bindparam("due_before") if due else None),
    ).order_by(PollStatusRow.last_poll_at, destination_id)
    chosen = func.coalesce(never_polled.scalar_subquery(), polled.scalar_subquery())
    return (
        update(_status)
        .where(_status.c.destination_id == chosen)
        .values(lease_owner=bindparam("owner"), lease_expires_at=bindparam("until"))
        # The whole poll row, destination_id first: what the poll reads of it
        # comes with the claim rather than in a statement of its own.
        .returning(*_status.c)
    )


def claim_statement(
    owner: str,
    *,
    now: datetime,
    until: datetime,
    due_before: datetime | None,
    only: str | None,
    among: Collection[str] | None,
    exclude: Collection[str],
    build: Callable[..., T],
) -> tuple[T, dict[str, Any]]:
    """The claim (see `claim_destination`) and its parameters; it returns the claimed
    destination's poll row (destination_id first), as `read_poll_row` reads it.
    `build`: what makes the statement of the filters given (due, only, among)."""
    parameters: dict[str, Any] = {
        "owner": owner,
        "now": now,
        "until": until,
        "exclude": list(exclude),
    }
    if due_before is not None:
        parameters["due_before"] = due_before
    if only is not None:
        parameters["only"] = only
    if among is not None:
        parameters["among"] = list(among)
    statement = build(due=due_before is not None, only=only is not None, among=among is not None)
    return statement, parameters
