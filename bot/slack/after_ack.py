"""The slow half of every command and button: it runs here, after the ack.

A burst of fifty commands must be acked as fast as a bare app acks them, and
Slack retries anything not acked within 3 s. If each handler went straight on
to fetch, render and post its reply, those fifty replies would interleave with
the acks still waiting on the same event loop. Instead the handler acks and
queues its reply; a few workers answer the queue in order, and they let a
burst of acks finish first: a reply starts once no command has arrived for
QUIET_SECONDS, or after MAX_HOLD_SECONDS at the latest (replies have 30
minutes; acks have 3 seconds). The queue is bounded, so an overloaded bot
says so in the ack instead of timing out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]

QUIET_SECONDS = 0.01
MAX_HOLD_SECONDS = 0.25


class AfterAck:
    def __init__(
        self,
        *,
        workers: int = 8,
        capacity: int = 500,
        observe_reply: Callable[[float], None] | None = None,
    ) -> None:
        self._worker_count = workers
        # Each job with the loop time it was queued at, so /metrics can show
        # how long people wait for their replies.
        self._queue: asyncio.Queue[tuple[Job, float]] = asyncio.Queue(maxsize=capacity)
        self._observe_reply = observe_reply
        self._workers: list[asyncio.Task[None]] = []
        self._last_submit = 0.0
        self._closed = False

    @property
    def accepting(self) -> bool:
        """False when full or shutting down: the ack should then say so."""
        return not self._closed and not self._queue.full()

    def submit(self, job: Job) -> bool:
        if self._closed:
            return False
        if not self._workers:
            self.start()
        now = asyncio.get_running_loop().time()
        try:
            self._queue.put_nowait((job, now))
        except asyncio.QueueFull:
            return False
        self._last_submit = now
        return True

    def start(self) -> None:
        if not self._workers:
            self._workers = [
                asyncio.create_task(self._work(), name=f"after-ack-{n}")
                for n in range(self._worker_count)
            ]

    async def drained(self) -> None:
        """Returns once every reply queued so far has been answered (tests wait on it)."""
        await self._queue.join()

    async def stop(self, *, drain_seconds: float = 5.0) -> None:
        """Finish what was acked (people are waiting on it), then stop."""
        self._closed = True
        if not self._workers:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), timeout=drain_seconds)
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    async def _work(self) -> None:
        while True:
            job, queued_at = await self._queue.get()
            try:
                await self._let_acks_go_first()
                await job()
            except Exception:
                log.exception("a reply failed after its ack")
            finally:
                self._queue.task_done()
                if self._observe_reply is not None:
                    self._observe_reply(asyncio.get_running_loop().time() - queued_at)

    async def _let_acks_go_first(self) -> None:
        loop = asyncio.get_running_loop()
        held_until = loop.time() + MAX_HOLD_SECONDS
        while loop.time() < held_until:
            quiet_for = loop.time() - self._last_submit
            if quiet_for >= QUIET_SECONDS:
                return
            await asyncio.sleep(QUIET_SECONDS - quiet_for)
