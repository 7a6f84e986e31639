"""Everything one poll of a destination reads from the store, in one transaction.

A poll used to ask the store for each thing it needed as it went (the
destination's state for paging, its scan state, the stored rows of the page,
the state again for the rules, the snoozes, one ledger per channel): seven
transactions before it wrote anything. Read together, up front, they cost
one; and a page that changes nothing needs no other read (issue 17).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from bot.store.backups import read_destination_state
from bot.store.interactions import read_snoozes
from bot.store.ledger import read_ledgers
from bot.store.polling import read_poll_row
from bot.store.records import PollStart
from bot.store.sessions import UsesSessions


class PollStartQueries(UsesSessions):
    async def begin_poll(
        self,
        destination_id: str,
        now: datetime,
        *,
        channels: Collection[str],
        lookback: timedelta,
        horizon: timedelta,
        ledger_since: datetime,
        newest: int,
    ) -> PollStart:
        """The rules' view at `now`, the channels' ledgers and snoozes, the poll status,
        and the `newest` stored rows a page is compared with."""
        async with self._sessions.read_connection() as session:
            status, scan = await read_poll_row(session, destination_id)
            state, stored = await read_destination_state(
                session, destination_id, now, lookback=lookback, horizon=horizon, newest=newest
            )
            ledgers = (
                await read_ledgers(session, channels, destination_id, since=ledger_since)
                if channels
                else {}
            )
            snoozes = await read_snoozes(session, channels, now)
        return PollStart(state, status, scan, ledgers, snoozes, stored)
