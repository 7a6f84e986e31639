"""The listing service against the fake API: paging, filters, caps and the cache."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.listing import MAX_SCAN_PAGES, BackupFilter, Position
from bot.northflank.client import NorthflankClient
from bot.northflank.errors import NotFoundError
from bot.northflank.transport import RetryPolicy
from bot.services.listing import BackupLister, PageCache
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def lister(fake_northflank: FakeNorthflank) -> AsyncIterator[BackupLister]:
    async with NorthflankClient(
        api_token=DEFAULT_TOKEN, base_url=fake_northflank.url, retry_policy=RetryPolicy(attempts=1)
    ) as client:
        yield BackupLister(client)


def seed(fake: FakeNorthflank, count: int, every_nth_failed: int = 0) -> list[str]:
    """`count` backups; returns their ids newest first."""
    fake.add_destination("dest-1", "Primary")
    backups = [
        make_backup(
            f"b{i:04d}",
            created_at=T0 + timedelta(minutes=i),
            status="failed" if every_nth_failed and i % every_nth_failed == 0 else "completed",
            addon=("addon-a", "orders-db") if i % 2 else ("addon-b", "users-db"),
        )
        for i in range(count)
    ]
    fake.add_backups("dest-1", backups)
    return [b["id"] for b in reversed(backups)]


async def walk(lister: BackupLister, backup_filter: BackupFilter, limit: int) -> list[str]:
    destination = await lister.resolve("dest-1")
    seen: list[str] = []
    position: Position | None = Position()
    while position is not None:
        page = await lister.page(
            destination, backup_filter=backup_filter, limit=limit, start=position
        )
        seen += [b.id for b in page.backups]
        position = page.next_position
    return seen


async def test_walking_every_page_has_no_gaps_or_repeats(
    lister: BackupLister, fake_northflank: FakeNorthflank
) -> None:
    ids = seed(fake_northflank, 47)
    assert await walk(lister, BackupFilter(), limit=10) == ids


async def test_a_filter_stopping_mid_page_resumes_exactly_there(
    lister: BackupLister, fake_northflank: FakeNorthflank
) -> None:
    ids = seed(fake_northflank, 250, every_nth_failed=3)
    failed = [i for i in ids if int(i[1:]) % 3 == 0]
    # 84 failures over three API pages of 100: answers of 7 end mid-page.
    assert await walk(lister, BackupFilter(frozenset({"failed"})), limit=7) == failed


async def test_addon_filter_matches_name_or_id_case_insensitively(
    lister: BackupLister, fake_northflank: FakeNorthflank
) -> None:
    ids = seed(fake_northflank, 20)
    odd = [i for i in ids if int(i[1:]) % 2]
    assert await walk(lister, BackupFilter(addon="ORDERS-DB"), limit=20) == odd
    assert await walk(lister, BackupFilter(addon="addon-a"), limit=20) == odd


async def test_a_rare_filter_stops_at_the_scan_cap(
    lister: BackupLister, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, MAX_SCAN_PAGES * 100 + 50)
    destination = await lister.resolve("dest-1")
    fake_northflank.clear_requests()
    page = await lister.page(destination, backup_filter=BackupFilter(frozenset({"aborted"})))
    assert page.backups == ()
    assert page.scan_capped
    assert page.scanned == MAX_SCAN_PAGES * 100
    assert page.next_position is not None and page.next_position.skip == 0
    assert fake_northflank.request_count() == MAX_SCAN_PAGES


async def test_concurrent_identical_listings_cost_one_request(
    lister: BackupLister, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 30)
    destination = await lister.resolve("dest-1")
    fake_northflank.latency = 0.2
    fake_northflank.clear_requests()
    pages = await asyncio.gather(*(lister.page(destination) for _ in range(5)))
    assert {tuple(b.id for b in p.backups) for p in pages} == {
        tuple(b.id for b in pages[0].backups)
    }
    assert fake_northflank.request_count() == 1
    await lister.page(destination)  # still fresh in the cache
    assert fake_northflank.request_count() == 1


async def test_a_failed_fetch_is_not_cached() -> None:
    clock = [0.0]
    cache = PageCache(ttl=30, timer=lambda: clock[0])
    calls = 0

    async def failing() -> object:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            await cache.get(("d", None, 10), failing)  # type: ignore[arg-type]
    assert calls == 2


async def test_resolve_by_name_and_by_id(
    lister: BackupLister, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 1)
    assert (await lister.resolve("dest-1")).name == "Primary"
    assert (await lister.resolve("primary")).id == "dest-1"


async def test_resolve_never_puts_unsafe_text_in_a_url(
    lister: BackupLister, fake_northflank: FakeNorthflank
) -> None:
    seed(fake_northflank, 1)
    await lister.destinations()
    fake_northflank.clear_requests()
    for reference in ("../auth", "a/b", "x?y=1", "#frag", "..", "Primary Two"):
        with pytest.raises(NotFoundError):
            await lister.resolve(reference)
    assert fake_northflank.request_count() == 0
