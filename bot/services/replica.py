"""This process among the others: its id, its heartbeat, and the claims it holds.

Replicas coordinate through the database only. Each has an id made of its
host name and pid (so an operator can tell which pod it is) plus a random
suffix (so a restarted pid is a new replica). A heartbeat every third of
LEASE_SECONDS keeps the replica in the registry and renews the leases and
claims in use right now; one that stops beating, because it died or hung,
loses them LEASE_SECONDS later and the others take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store import Claim, ReplicaInfo, Store

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 60


def new_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Replica:
    def __init__(
        self,
        store: Store,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], datetime],
        replica_id: str | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self.id = replica_id or new_replica_id()
        self.lease = timedelta(seconds=lease_seconds)
        self.started_at = clock()
        # What this process is working on now; only these are renewed.
        self.polling: set[str] = set()
        self.delivering: set[int] = set()
        # Replicas heard from within one lease, this one included.
        self.live_count = 1
        self._task: asyncio.Task[None] | None = None

    def claim(self) -> Claim:
        """A claim on work taken now: ours until one lease from now, unless renewed."""
        return Claim(self.id, self._clock() + self.lease)

    async def start(self) -> None:
        await self._beat_logging_errors()
        self._task = asyncio.create_task(self._beat_forever(), name="replica-heartbeat")

    async def stop(self) -> None:
        """Stop beating and give every lease and claim back, so others need not wait."""
        if self._task is None:
            return  # never started (start-up failed before): nothing was claimed
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        try:
            await self._store.release_everything(self.id)
        except Exception:
            # They run out by themselves within a lease; nothing is lost.
            log.warning("could not release this replica's claims on the way out", exc_info=True)
        else:
            log.info("released this replica's claims", extra={"replica": self.id})

    async def beat(self) -> None:
        now = self._clock()
        await self._store.heartbeat(
            ReplicaInfo(self.id, socket.gethostname(), os.getpid(), self.started_at, now),
            now=now,
            claims_until=now + self.lease,
            destination_ids=sorted(self.polling),
            outbox_ids=sorted(self.delivering),
        )
        live = len(await self._store.live_replicas(seen_since=now - self.lease))
        if live != self.live_count:
            log.info("replicas running: %d", live, extra={"replica": self.id})
        self.live_count = max(1, live)

    async def _beat_forever(self) -> None:
        interval = self.lease.total_seconds() / 3
        while True:
            await asyncio.sleep(interval)
            await self._beat_logging_errors()

    async def _beat_logging_errors(self) -> None:
        try:
            await self.beat()
        except Exception:
            # The database is away: our claims may run out, and another replica
            # may take them over. That is the design, not a reason to stop.
            log.warning("the replica heartbeat failed", exc_info=True)
