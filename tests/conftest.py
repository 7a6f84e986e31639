"""Shared fixtures."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from tests.databases import DATABASES, migrated_store, postgres_schema, sqlite_url
from tests.fakes.northflank import FakeNorthflank
from tests.fakes.slack import FakeSlack
from tests.figures import absorb, as_data, reported


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On an xdist worker: send the tables it measured to the controller."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["figures"] = as_data()


def pytest_testnodedown(node: Any, error: object) -> None:
    """On the xdist controller: keep the tables a finished worker measured."""
    absorb(getattr(node, "workeroutput", {}).get("figures", []))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow tests first, each followed by a quick one.

    xdist hands each worker two tests to start with: this way every worker
    starts on a different slow test, and they overlap with the rest of the
    suite instead of running one after another at the end. The order is the
    same on every worker, as xdist requires.
    """
    slow = [item for item in items if item.get_closest_marker("slow")]
    quick = [item for item in items if not item.get_closest_marker("slow")]
    interleaved: list[pytest.Item] = []
    for index, item in enumerate(slow):
        interleaved.append(item)
        if index < len(quick):
            interleaved.append(quick[index])
    items[:] = interleaved + quick[len(slow) :]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the tables tests measured (fault injection, crashes), quoted in the README."""
    tables = reported()
    if not tables:
        return
    terminalreporter.section("measured figures")
    for table in tables:
        terminalreporter.write_line(table.render())
        terminalreporter.write_line("")


@pytest.fixture
def fake_northflank() -> Iterator[FakeNorthflank]:
    """A fresh fake Northflank API per test, on its own port and thread."""
    with FakeNorthflank() as fake:
        yield fake


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A fresh fake Slack Web API (and response_url receiver) per test."""
    with FakeSlack() as fake:
        yield fake


@pytest.fixture(params=DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of each kind: a SQLite file, and a fresh PostgreSQL schema.

    PostgreSQL is TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
    when it cannot be reached these tests are skipped, loudly, or fail with REQUIRE_POSTGRES=1.
    """
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    async with postgres_schema() as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A store on a migrated, empty database."""
    async with migrated_store(database_url) as opened:
        yield opened
