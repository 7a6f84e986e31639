"""The rules' view of a destination, and the stored rows a poll's page is compared with.

A poll reads these on every run, so the statements are built once, with bound
parameters: building a statement costs more CPU than running it, and one built
once is also compiled once (its cache key is worked out once too). They are
built from the destination as an expression, so that the same reads can ride
along with a claim, correlated to the row it claims (bot/store/claim_reads.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, UnaryExpression, and_, bindparam, or_, select

from bot.core.backups import BackupStatus
from bot.core.destination_state import DestinationState, KnownBackup
from bot.store.addons import addon_state_of, addons_with_latest_completed
from bot.store.backup_rows import COMPARED, backup_from_mapping
from bot.store.sessions import Executor, NamedRow, inline_strings
from bot.store.tables import KnownBackupRow

_k = KnownBackupRow.__table__
_FINAL = tuple(status.value for status in BackupStatus if status.is_final)
FAILED = (BackupStatus.FAILED.value, BackupStatus.ABORTED.value)


def can_alert(
    now: ColumnElement[Any],
    failed_since: ColumnElement[Any],
    expiring_until: ColumnElement[Any],
) -> ColumnElement[bool]:
    """A stored backup that can still raise an alert: unfinished, failed within the
    lookback, or completed and expiring within the horizon."""
    return or_(
        _k.c.status.not_in(inline_strings(_FINAL)),
        and_(_k.c.status.in_(inline_strings(FAILED)), _k.c.status_since >= failed_since),
        and_(
            _k.c.status == BackupStatus.COMPLETED.value,
            _k.c.expires_at > now,
            _k.c.expires_at <= expiring_until,
        ),
    )


def state_rows(
    destination: ColumnElement[Any],
    alerting: ColumnElement[bool],
    *,
    newest: ColumnElement[Any] | None,
) -> Select[Any]:
    """The rows that can alert (labelled can_alert) and, given `newest`, also that many
    newest rows, in STATE_ORDER."""
    kept = alerting
    if newest is not None:
        # An alias: the same table's name inside would be correlated to the
        # outer query's rows where `destination` is another query's column.
        newer = _k.alias("newer")
        newest_ids = (
            select(newer.c.backup_id)
            .where(newer.c.destination_id == destination)
            .order_by(newer.c.created_at.desc(), newer.c.backup_id)
            .limit(newest)
        )
        kept = or_(alerting, _k.c.backup_id.in_(newest_ids.scalar_subquery()))
    return (
        select(_k, alerting.label("can_alert"))
        .where(_k.c.destination_id == destination, kept)
        .order_by(*STATE_ORDER)
    )


STATE_ORDER: tuple[UnaryExpression[Any] | ColumnElement[Any], ...] = (
    _k.c.created_at.desc(),
    _k.c.backup_id,
)
_BOUND_ALERTING = can_alert(
    bindparam("now"), bindparam("failed_since"), bindparam("expiring_until")
)
_STATE = state_rows(bindparam("destination_id"), _BOUND_ALERTING, newest=None)
_STATE_AND_NEWEST = state_rows(
    bindparam("destination_id"), _BOUND_ALERTING, newest=bindparam("newest", type_=Integer)
)
_ADDONS = addons_with_latest_completed(bindparam("destination_id"))


async def read_destination_state(
    session: Executor,
    destination_id: str,
    now: datetime,
    *,
    lookback: timedelta,
    horizon: timedelta,
    newest: int = 0,
) -> tuple[DestinationState, dict[str, dict[str, Any]]]:
    """`destination_state`, within a session the caller holds; and, in the same query,
    the stored rows of the `newest` backups (and of those in the state), by id, as
    `backup_row` has them: what a poll's page is compared with before it is written."""
    parameters: dict[str, Any] = {
        "destination_id": destination_id,
        "now": now,
        "failed_since": now - lookback,
        "expiring_until": now + horizon,
    }
    if newest:
        parameters["newest"] = newest
    rows = await session.execute(_STATE_AND_NEWEST if newest else _STATE, parameters)
    addons = await session.execute(_ADDONS, {"destination_id": destination_id})
    return destination_state_of(destination_id, rows, addons)


def destination_state_of(
    destination_id: str, rows: Iterable[NamedRow], addons: Iterable[NamedRow]
) -> tuple[DestinationState, dict[str, dict[str, Any]]]:
    """From the rows of `state_rows` (in STATE_ORDER) and of `addons_with_latest_completed`."""
    known: list[KnownBackup] = []
    stored: dict[str, dict[str, Any]] = {}
    for row in rows:
        values = row._mapping
        if row.can_alert:
            known.append(KnownBackup(backup_from_mapping(values), row.status_since))
        stored[row.backup_id] = {name: values[name] for name in COMPARED}
    state = DestinationState(
        destination_id=destination_id,
        backups=tuple(known),
        addons=tuple(addon_state_of(row) for row in addons),
    )
    return state, stored
