"""How polling each destination is going, and where its first full read got to."""

from __future__ import annotations

from bot.core.watches import PollStatus
from bot.store import ScanState, Store
from tests.store.examples import HOUR, T0


async def test_a_destination_never_polled_has_no_status(store: Store) -> None:
    assert await store.poll_statuses(["dest"]) == {}
    assert await store.poll_statuses([]) == {}


async def test_a_success_is_recorded(store: Store) -> None:
    status = await store.record_poll_success("dest", T0)
    assert status == PollStatus("dest", last_poll_at=T0, last_success_at=T0)
    assert await store.poll_statuses(["dest", "other"]) == {"dest": status}


async def test_failures_count_up_from_the_first_one(store: Store) -> None:
    await store.record_poll_success("dest", T0)
    first = await store.record_poll_failure("dest", T0 + HOUR, "503 Service Unavailable")
    second = await store.record_poll_failure("dest", T0 + 2 * HOUR, "timed out")
    assert (first.consecutive_failures, second.consecutive_failures) == (1, 2)
    assert second.failing_since == T0 + HOUR
    assert second.last_poll_at == T0 + 2 * HOUR and second.last_success_at == T0
    assert second.last_error == "timed out"
    assert await store.poll_statuses(["dest"]) == {"dest": second}


async def test_a_first_poll_can_fail(store: Store) -> None:
    status = await store.record_poll_failure("dest", T0, "401")
    assert status == PollStatus(
        "dest", last_poll_at=T0, consecutive_failures=1, failing_since=T0, last_error="401"
    )


async def test_long_errors_are_cut_short(store: Store) -> None:
    status = await store.record_poll_failure("dest", T0, "<html>" + "x" * 5000)
    assert status.last_error is not None and len(status.last_error) == 500


async def test_a_success_ends_the_outage(store: Store) -> None:
    await store.record_poll_failure("dest", T0, "503")
    await store.record_poll_failure("dest", T0 + HOUR, "503")
    status = await store.record_poll_success("dest", T0 + 2 * HOUR)
    assert status == PollStatus("dest", last_poll_at=T0 + 2 * HOUR, last_success_at=T0 + 2 * HOUR)


async def test_scan_state_starts_incomplete_and_is_saved(store: Store) -> None:
    assert await store.scan_state("dest") == ScanState(complete=False, cursor=None)
    await store.save_scan_state("dest", ScanState(False, "cursor-page-7"))
    assert await store.scan_state("dest") == ScanState(False, "cursor-page-7")
    await store.save_scan_state("dest", ScanState(True, None))
    assert await store.scan_state("dest") == ScanState(True, None)


async def test_scan_state_and_poll_status_leave_each_other_alone(store: Store) -> None:
    await store.save_scan_state("dest", ScanState(False, "cursor-page-2"))
    polled = await store.record_poll_failure("dest", T0, "503")
    assert await store.scan_state("dest") == ScanState(False, "cursor-page-2")
    await store.save_scan_state("dest", ScanState(True, None))
    assert await store.poll_statuses(["dest"]) == {"dest": polled}
