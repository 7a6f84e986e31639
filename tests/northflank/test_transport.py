"""The retrying transport on its own, over real HTTP to the fake Northflank."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from bot.northflank.errors import UnavailableError
from bot.northflank.ratelimit import RateLimitState, retry_after_seconds
from bot.northflank.transport import RetryingTransport, RetryPolicy
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup

POLICY = RetryPolicy(attempts=3, base_delay=0.01, max_backoff=0.02)


def http_client(fake: FakeNorthflank, slept: list[float]) -> httpx.AsyncClient:
    async def record_sleep(seconds: float) -> None:
        slept.append(seconds)

    transport = RetryingTransport(
        httpx.AsyncHTTPTransport(),
        rate_limit=RateLimitState(),
        policy=POLICY,
        sleep=record_sleep,
        rng=lambda: 0.5,
    )
    return httpx.AsyncClient(
        transport=transport,
        base_url=fake.url,
        headers={"Authorization": f"Bearer {DEFAULT_TOKEN}"},
    )


def seed(fake: FakeNorthflank) -> str:
    fake.add_destination("d", "D")
    fake.add_backups("d", [make_backup("b1", addon=("addon-1", "db"), project=("p1", "P"))])
    return "/v1/projects/p1/addons/addon-1/backups"


async def test_a_post_is_not_repeated_after_a_server_error(fake_northflank: FakeNorthflank) -> None:
    path = seed(fake_northflank)
    fake_northflank.fail_next("500", path_contains="/addons/")
    slept: list[float] = []
    async with http_client(fake_northflank, slept) as http:
        response = await http.post(path, json={})
    # The server may have started the backup before it failed: never send it twice.
    assert response.status_code == 500
    assert fake_northflank.request_count("/v1/projects") == 1
    assert slept == []


async def test_a_post_refused_with_429_is_retried(fake_northflank: FakeNorthflank) -> None:
    path = seed(fake_northflank)
    fake_northflank.fault_retry_after = 0
    fake_northflank.fail_next("429", path_contains="/addons/")
    slept: list[float] = []
    async with http_client(fake_northflank, slept) as http:
        response = await http.post(path, json={})
    assert response.status_code == 200
    assert fake_northflank.request_count("/v1/projects") == 2
    assert len(fake_northflank.writes) == 1


async def test_backoff_doubles_between_attempts(fake_northflank: FakeNorthflank) -> None:
    seed(fake_northflank)
    fake_northflank.fail_next("503", times=5)
    slept: list[float] = []
    async with http_client(fake_northflank, slept) as http:
        response = await http.get("/v1/backup-destinations")
    assert response.status_code == 503
    # rng fixed at 0.5: "equal jitter" gives 3/4 of each ceiling (0.01, then 0.02).
    assert slept == [0.0075, 0.015]


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_backoff=8.0)
    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 8, 8]
    assert policy.backoff(3, lambda: 0.0) == 2.0


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds({"retry-after": "7"}) == 7.0
    assert retry_after_seconds({"retry-after": later}, now=now.timestamp()) == 90.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_rate_limit_state_reads_the_headers() -> None:
    clock = [100.0]
    state = RateLimitState(clock=lambda: clock[0])
    state.observe(
        {"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "60"}
    )
    assert state.exhausted()
    assert state.seconds_until_reset() == 60.0
    clock[0] += 61
    assert not state.exhausted()
    state.observe({"content-type": "text/html"})  # a proxy page says nothing about the budget
    assert state.remaining == 0


async def test_every_attempt_is_counted_by_outcome(fake_northflank: FakeNorthflank) -> None:
    seed(fake_northflank)
    fake_northflank.fault_retry_after = 0
    fake_northflank.timeout_delay = 1.0
    for fault in ("429", "503", "timeout"):  # three attempts, three failures
        fake_northflank.fail_next(fault, path_contains="/backups")
    slept: list[float] = []
    async with http_client(fake_northflank, slept) as http:
        http.timeout = httpx.Timeout(0.2)
        transport = http._transport
        assert isinstance(transport, RetryingTransport)
        with pytest.raises(UnavailableError):
            await http.get("/v1/backup-destinations/d/backups")
        found = await http.get("/v1/backup-destinations/d/backups")
        missing = await http.get("/v1/backup-destinations/nope/backups")
    assert (found.status_code, missing.status_code) == (200, 404)
    assert dict(transport.outcomes) == {
        "rate_limited": 1,
        "server_error": 1,
        "timeout": 1,
        "ok": 1,
        "client_error": 1,
    }
    assert sum(transport.outcomes.values()) == fake_northflank.request_count("/v1/")
