"""Everything one poll of a destination reads from the store, in one transaction.

A poll used to ask the store for each thing it needed as it went (the
destination's state for paging, its scan state, the stored rows of the page,
the state again for the rules, the snoozes, one ledger per channel): seven
transactions before it wrote anything. Read together, up front, they cost
one; and a page that changes nothing needs no other read (issue 17). Beside
other replicas, the claim of the destination is in that transaction too, and on
PostgreSQL claim and reads are one statement (bot/store/claim_reads.py).
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Executable

from bot.core.watches import PollStatus
from bot.store.claim_reads import claim_reads, read_parameters
from bot.store.destination_reads import read_destination_state
from bot.store.interactions import read_snoozes
from bot.store.leases import claim_statement, claim_update
from bot.store.ledger import read_ledgers
from bot.store.polling import poll_row_of, read_poll_row
from bot.store.records import PollPlan, PollPlans, PollStart, ScanState
from bot.store.sessions import Executor, UsesSessions


class PollStartQueries(UsesSessions):
    async def begin_poll(self, destination_id: str, now: datetime, plan: PollPlan) -> PollStart:
        """The rules' view at `now`, the channels' ledgers and snoozes, the poll status,
        and the newest stored rows a page is compared with."""
        async with self._sessions.read_connection() as connection:
            return await _read_start(connection, destination_id, now, plan)

    async def claim_and_begin(
        self,
        owner: str,
        *,
        now: datetime,
        until: datetime,
        due_before: datetime | None,
        only: str | None = None,
        among: Collection[str] | None = None,
        exclude: Collection[str] = (),
        plan: PollPlans | None,
    ) -> tuple[str, PollStart | None] | None:
        """`claim_destination`, then `begin_poll` of what it claimed, on one connection:
        on PostgreSQL in one statement (bot/store/claim_reads.py), on SQLite in one
        transaction. Without a plan, only the claim. When the reads fail, the claim
        stands (the lease, not a transaction, is what keeps other replicas away) and
        ClaimedUnreadError names the destination."""
        claim = functools.partial(
            claim_statement,
            owner,
            now=now,
            until=until,
            due_before=due_before,
            only=only,
            among=among,
            exclude=exclude,
        )
        reads = None
        if plan is not None and self._sessions.dialect == "postgresql":
            newest = plan.common.newest > 0
            reads, parameters = claim(build=functools.partial(claim_reads, newest=newest))
            statement: Executable = reads.statement
            parameters |= read_parameters(plan.common, now)
        else:
            statement, parameters = claim(build=claim_update)
        async with self._sessions.write_connection() as connection:
            row = (await connection.execute(statement, parameters)).first()
            if row is None:
                return None
            claimed: str = row.destination_id
            if plan is None:
                return claimed, None
            try:
                wanted = plan.of(claimed)
                start = reads and reads.start_of(row, plan.common, wanted, connection.dialect)
                # A watch changed since the cycle began (or SQLite): read for `wanted`.
                return claimed, start or await _read_start(
                    connection, claimed, now, wanted, poll_row_of(row)
                )
            except Exception as exc:
                # Kept, not raised here: the block ends normally, so SQLite's
                # transaction commits the claim too (PostgreSQL's is committed).
                failure = exc
        raise ClaimedUnreadError(claimed) from failure


class ClaimedUnreadError(Exception):
    """A destination was claimed (the claim stands) but reading what its poll needs
    failed: polled the usual way, that failure costs it only its own poll."""

    def __init__(self, destination_id: str) -> None:
        super().__init__(f"claimed {destination_id!r}, but reading it failed")
        self.destination_id = destination_id


async def _read_start(
    connection: Executor,
    destination_id: str,
    now: datetime,
    plan: PollPlan,
    poll_row: tuple[PollStatus | None, ScanState] | None = None,
) -> PollStart:
    """`poll_row`: the destination's poll row, when the claim returned it already."""
    status, scan = poll_row or await read_poll_row(connection, destination_id)
    state, stored = await read_destination_state(
        connection,
        destination_id,
        now,
        lookback=plan.lookback,
        horizon=plan.horizon,
        newest=plan.newest,
    )
    ledgers = (
        await read_ledgers(
            connection, plan.channels, destination_id, since=now - plan.ledger_memory
        )
        if plan.channels
        else {}
    )
    snoozes = await read_snoozes(connection, plan.channels, now)
    return PollStart(state, status, scan, ledgers, snoozes, stored)
