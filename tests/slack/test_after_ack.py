from __future__ import annotations

import asyncio

from bot.slack.after_ack import MAX_HOLD_SECONDS, AfterAck


async def test_jobs_run_in_order_and_failures_do_not_stop_the_workers() -> None:
    queue = AfterAck(workers=1)
    done: list[int] = []

    def job(n: int) -> object:
        async def run() -> None:
            if n == 1:
                raise RuntimeError("one reply failed")
            done.append(n)

        return run

    for n in range(4):
        assert queue.submit(job(n))  # type: ignore[arg-type]
    await queue.stop(drain_seconds=5)
    assert done == [0, 2, 3]


async def test_stop_finishes_what_was_acked() -> None:
    queue = AfterAck(workers=2)
    finished = asyncio.Event()

    async def slow() -> None:
        await asyncio.sleep(0.1)
        finished.set()

    queue.submit(slow)
    await queue.stop(drain_seconds=5)
    assert finished.is_set()


async def test_a_full_queue_refuses() -> None:
    queue = AfterAck(workers=1, capacity=1)
    gate = asyncio.Event()

    async def blocked() -> None:
        await gate.wait()

    assert queue.submit(blocked)
    await asyncio.sleep(MAX_HOLD_SECONDS + 0.05)  # the worker has taken the first job
    assert queue.submit(blocked)
    assert not queue.accepting
    assert not queue.submit(blocked)
    gate.set()
    await queue.stop()


async def test_replies_wait_for_a_burst_of_acks_but_not_forever() -> None:
    queue = AfterAck(workers=1)
    submitted = 0
    submitted_when_first_reply_ran: list[int] = []

    async def reply() -> None:
        submitted_when_first_reply_ran.append(submitted)

    # A stream of commands 5 ms apart (closer than QUIET_SECONDS) for about 0.5 s,
    # twice MAX_HOLD_SECONDS.
    for _ in range(100):
        queue.submit(reply)
        submitted += 1
        await asyncio.sleep(0.005)
    await queue.stop()
    first = submitted_when_first_reply_ran[0]
    assert first > 10, "replies should yield to a burst of commands"
    assert first < 100, f"replies must not starve: held for longer than {MAX_HOLD_SECONDS}s"


async def test_a_stopped_queue_takes_nothing_more() -> None:
    queue = AfterAck(workers=1)
    await queue.stop()
    ran: list[str] = []

    async def job() -> None:
        ran.append("late")

    assert not queue.accepting
    assert not queue.submit(job)
    await asyncio.sleep(0.05)
    assert ran == []
