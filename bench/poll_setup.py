"""What the polling benchmarks share: a movable clock, a fresh store, a client."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.northflank.client import NorthflankClient
from bot.store import Store, upgrade
from tests.fakes.northflank import DEFAULT_TOKEN

# The benchmark's "now"; generated backups are placed before it.
NOW = datetime(2026, 3, 1, tzinfo=UTC)
POLL_INTERVAL = 300.0


class Clock:
    """The poller's clock; the benchmark moves it one poll interval at a time."""

    def __init__(self, now: datetime = NOW) -> None:
        self._now = now

    def __call__(self) -> datetime:
        return self._now

    def advance(self, seconds: float = POLL_INTERVAL) -> None:
        self._now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class FreshStore:
    store: Store
    path: Path

    def database_bytes(self) -> int:
        """The SQLite file and its WAL, as they are on disk now."""
        return sum(
            p.stat().st_size
            for p in (self.path, self.path.with_name(self.path.name + "-wal"))
            if p.exists()
        )


@contextlib.asynccontextmanager
async def fresh_store() -> AsyncIterator[FreshStore]:
    """A migrated, empty SQLite store in a temporary folder, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="poll-cost-") as folder:
        path = Path(folder) / "bench.db"
        url = f"sqlite:///{path}"
        await upgrade(url)
        store = Store.connect(url)
        try:
            yield FreshStore(store, path)
        finally:
            await store.close()


@contextlib.asynccontextmanager
async def fresh_sqlite() -> AsyncIterator[Store]:
    """`fresh_store`'s store alone."""
    async with fresh_store() as fresh:
        yield fresh.store


# Opens a fresh, empty store and closes it afterwards.
StoreOpener = Callable[[], contextlib.AbstractAsyncContextManager[Store]]


def client_for(url: str) -> NorthflankClient:
    return NorthflankClient(api_token=DEFAULT_TOKEN, base_url=url)
