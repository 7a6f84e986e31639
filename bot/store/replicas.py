"""The replica registry: who is running, and every claim a replica holds, renewed or let go.

Each process heartbeats into `replicas` every third of LEASE_SECONDS and, in
the same transaction, extends the leases and outbox claims it is working on.
While it lives they never run out, however long a poll takes; when it dies
they run out LEASE_SECONDS later and the others take over. On a clean stop it
gives everything back at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from bot.store.records import OutboxState
from bot.store.sessions import UsesSessions
from bot.store.tables import OutboxRow, PollStatusRow, ReplicaRow

_replicas = ReplicaRow.__table__
_status = PollStatusRow.__table__
_outbox = OutboxRow.__table__
# A row not heard from for this long belongs to a replica long gone.
FORGET_AFTER = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class ReplicaInfo:
    id: str
    hostname: str
    pid: int
    started_at: datetime
    last_seen_at: datetime


class ReplicaQueries(UsesSessions):
    async def heartbeat(
        self,
        replica: ReplicaInfo,
        *,
        now: datetime,
        claims_until: datetime,
        destination_ids: Collection[str] = (),
        outbox_ids: Collection[int] = (),
    ) -> None:
        """Say we are alive, and keep the leases and claims in use until `claims_until`.

        Only those named: a lease left behind by a failed release must run out,
        not be renewed for as long as the replica lives.
        """
        values = {"last_seen_at": now}
        async with self._sessions.write() as session:
            await session.execute(
                self._sessions.insert(_replicas)
                .values(
                    id=replica.id,
                    hostname=replica.hostname,
                    pid=replica.pid,
                    started_at=replica.started_at,
                    last_seen_at=now,
                )
                .on_conflict_do_update(index_elements=[_replicas.c.id], set_=values)
            )
            await session.execute(
                update(_status)
                .where(
                    _status.c.lease_owner == replica.id,
                    _status.c.destination_id.in_(destination_ids),
                )
                .values(lease_expires_at=claims_until)
            )
            await session.execute(
                update(_outbox)
                .where(
                    _outbox.c.claimed_by == replica.id,
                    _outbox.c.id.in_(outbox_ids),
                    _outbox.c.state == OutboxState.PENDING.value,
                )
                .values(claimed_until=claims_until)
            )
            await session.execute(
                delete(_replicas).where(_replicas.c.last_seen_at < now - FORGET_AFTER)
            )

    async def live_replicas(self, *, seen_since: datetime) -> list[ReplicaInfo]:
        async with self._sessions.read() as session:
            rows = await session.scalars(
                select(ReplicaRow)
                .where(ReplicaRow.last_seen_at >= seen_since)
                .order_by(ReplicaRow.started_at, ReplicaRow.id)
            )
            return [
                ReplicaInfo(row.id, row.hostname, row.pid, row.started_at, row.last_seen_at)
                for row in rows
            ]

    async def release_everything(self, replica_id: str) -> None:
        """A clean stop: every lease and claim goes back now, and we leave the registry."""
        async with self._sessions.write() as session:
            await session.execute(
                update(_status)
                .where(_status.c.lease_owner == replica_id)
                .values(lease_owner=None, lease_expires_at=None)
            )
            await session.execute(
                update(_outbox)
                .where(
                    _outbox.c.claimed_by == replica_id,
                    _outbox.c.state == OutboxState.PENDING.value,
                )
                .values(claimed_by=None, claimed_until=None)
            )
            await session.execute(delete(_replicas).where(_replicas.c.id == replica_id))
