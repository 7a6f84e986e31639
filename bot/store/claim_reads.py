"""A steady poll's claim and every read it needs up front, as one PostgreSQL statement.

A poll beside other replicas claims a destination, then reads the rules' view
of it, its addons, the watching channels' ledgers and their snoozes: five
round trips to the server before Northflank is asked anything. Here the
claim is a data-modifying CTE and each read a scalar subquery correlated to
the row it claimed, returned as an array of records (bot/store/record_arrays.py):
one round trip, one statement compiled once (issue 17).

What the reads depend on but the claim cannot know beforehand (the channels
watching the destination it will claim, and how far ahead they look for
expiring backups) the statement reads from the watches table. A poll goes by
the watches its cycle began with. A channel that started watching since is
passed over; when the plan asks for more than the statement read (a channel
that stopped watching, another horizon), the reads are made again the usual
way, for exactly the plan.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    Interval,
    Select,
    bindparam,
    func,
    literal_column,
    select,
)
from sqlalchemy.engine import Dialect

from bot.core.watches import Event, WatchState
from bot.store.addons import ADDON_ORDER, addons_with_latest_completed
from bot.store.destination_reads import STATE_ORDER, can_alert, destination_state_of, state_rows
from bot.store.interactions import running_snoozes, snooze_from_row
from bot.store.leases import claim_update
from bot.store.ledger import ledger_entries, ledgers_of
from bot.store.polling import poll_row_of
from bot.store.record_arrays import RecordShape, record_array
from bot.store.records import PollPlan, PollStart
from bot.store.sessions import NamedRow
from bot.store.tables import AlertRow, SnoozeRow, WatchRow

_watches = WatchRow.__table__


class ClaimReads:
    """The statement for one combination of the claim's filters, and how to decode it."""

    def __init__(self, *, due: bool, only: bool, among: bool, newest: bool) -> None:
        claimed = claim_update(due=due, only=only, among=among).cte("claimed")
        destination = claimed.c.destination_id
        watching = (_watches.c.destination_id == destination) & (
            _watches.c.state != WatchState.DISABLED.value
        )
        channels = select(_watches.c.channel).where(watching)
        # rules.expiry_horizon, in SQL: the longest expiry= of the watches that
        # want expiry warnings (0 when none does).
        wants_expiring = func.concat(",", _watches.c.events, ",").like(
            literal_column(f"'%,{Event.EXPIRING.value},%'")
        )
        horizon = (
            select(func.coalesce(func.max(_watches.c.expiry_seconds), 0))
            .where(watching, wants_expiring)
            .scalar_subquery()
        )
        now: BindParameter[Any] = bindparam("now")
        expiring_until = now + literal_column("interval '1 second'", Interval) * horizon
        state = state_rows(
            destination,
            can_alert(now, bindparam("failed_since"), expiring_until),
            newest=bindparam("newest", type_=Integer) if newest else None,
        )
        addons = addons_with_latest_completed(destination)
        ledgers = ledger_entries(channels, destination, bindparam("since"))
        snoozes = running_snoozes(channels, now)
        self.statement: Select[Any] = select(
            claimed,
            select(func.array_agg(_watches.c.channel))
            .where(watching)
            .scalar_subquery()
            .label("watching_channels"),
            horizon.label("horizon_seconds"),
            record_array(state, *STATE_ORDER).label("state_rows"),
            record_array(addons, *ADDON_ORDER).label("addon_rows"),
            record_array(ledgers, AlertRow.__table__.c.id).label("ledger_rows"),
            record_array(snoozes, SnoozeRow.__table__.c.id).label("snooze_rows"),
        )
        self._state = RecordShape(state)
        self._addons = RecordShape(addons)
        self._ledgers = RecordShape(ledgers)
        self._snoozes = RecordShape(snoozes)

    def start_of(
        self, row: NamedRow, read_for: PollPlan, plan: PollPlan, dialect: Dialect
    ) -> PollStart | None:
        """The claimed destination's PollStart, when the statement read what `plan`
        asks for (`read_for`: the plan its parameters came from); None when not."""
        if (
            not plan.channels <= frozenset(row.watching_channels or ())
            or timedelta(seconds=row.horizon_seconds) != plan.horizon
            or (plan.lookback, plan.ledger_memory, plan.newest)
            != (read_for.lookback, read_for.ledger_memory, read_for.newest)
        ):
            return None
        status, scan = poll_row_of(row)
        state, stored = destination_state_of(
            row.destination_id,
            self._state.rows(row.state_rows, dialect),
            self._addons.rows(row.addon_rows, dialect),
        )
        ledgers = ledgers_of(plan.channels, self._ledgers.rows(row.ledger_rows, dialect))
        snoozes = [
            snooze_from_row(r)
            for r in self._snoozes.rows(row.snooze_rows, dialect)
            if r.channel in plan.channels
        ]
        return PollStart(state, status, scan, ledgers, snoozes, stored)


@functools.cache
def claim_reads(*, due: bool, only: bool, among: bool, newest: bool) -> ClaimReads:
    """Built once for each combination, like the claim itself."""
    return ClaimReads(due=due, only=only, among=among, newest=newest)


def read_parameters(plan: PollPlan, now: datetime) -> dict[str, Any]:
    """The reads' parameters beside the claim's (which has `now` too)."""
    parameters: dict[str, Any] = {
        "failed_since": now - plan.lookback,
        "since": now - plan.ledger_memory,
    }
    if plan.newest:
        parameters["newest"] = plan.newest
    return parameters
