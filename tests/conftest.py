"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.northflank import FakeNorthflank
from tests.fakes.slack import FakeSlack


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
