"""The Northflank client over real HTTP against the fake API: parsing, routing,
errors and retries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.core.backups import BackupStatus
from bot.northflank.client import NorthflankClient, StartedBackup
from bot.northflank.errors import (
    AuthenticationError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    UnavailableError,
)
from bot.northflank.transport import RetryPolicy
from tests.fakes.northflank import DEFAULT_TOKEN, MISSING, FakeNorthflank, FaultKind, make_backup

FAST_RETRIES = RetryPolicy(attempts=4, base_delay=0.01, max_backoff=0.05, max_wait=2.0)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def client_for(fake: FakeNorthflank, **kwargs: object) -> NorthflankClient:
    options: dict[str, object] = {"retry_policy": FAST_RETRIES, **kwargs}
    token = str(options.pop("api_token", DEFAULT_TOKEN))
    return NorthflankClient(api_token=token, base_url=fake.url, **options)  # type: ignore[arg-type]


@pytest.fixture
async def client(fake_northflank: FakeNorthflank) -> AsyncIterator[NorthflankClient]:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups(
        "dest-1", [make_backup(f"b{i}", created_at=T0 + timedelta(hours=i)) for i in range(5)]
    )
    async with client_for(fake_northflank) as nf:
        yield nf


async def test_a_page_is_parsed_newest_first(client: NorthflankClient) -> None:
    page = await client.list_backups_page("dest-1", per_page=3)
    assert [b.id for b in page.backups] == ["b4", "b3", "b2"]
    assert page.backups[0].status is BackupStatus.COMPLETED
    assert page.next_cursor is not None
    rest = await client.list_backups_page("dest-1", cursor=page.next_cursor, per_page=3)
    assert [b.id for b in rest.backups] == ["b1", "b0"]
    assert rest.next_cursor is None


async def test_per_page_is_capped_at_the_api_maximum(
    client: NorthflankClient, fake_northflank: FakeNorthflank
) -> None:
    await client.list_backups_page("dest-1", per_page=500)
    assert fake_northflank.requests[-1].query["per_page"] == "100"


async def test_one_connection_serves_many_requests(
    client: NorthflankClient, fake_northflank: FakeNorthflank
) -> None:
    for _ in range(5):
        await client.list_backups_page("dest-1")
    peers = {r.peer for r in fake_northflank.requests}
    assert len(peers) == 1


async def test_team_scoped_routes_when_a_team_is_set(fake_northflank: FakeNorthflank) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    async with client_for(fake_northflank, team_id="team-9") as nf:
        await nf.list_backups_page("dest-1")
        await nf.list_destinations()
    paths = [r.path for r in fake_northflank.requests]
    assert paths == [
        "/v1/teams/team-9/backup-destinations/dest-1/backups",
        "/v1/teams/team-9/backup-destinations",
    ]


async def test_destinations(client: NorthflankClient) -> None:
    (destination,) = await client.list_destinations()
    assert (destination.id, destination.name) == ("dest-1", "Primary")
    assert (await client.get_destination("dest-1")).name == "Primary"


async def test_quirky_items_are_read_and_broken_ones_skipped(
    fake_northflank: FakeNorthflank,
) -> None:
    fake_northflank.add_destination("d", "D")
    fake_northflank.add_backups(
        "d",
        [
            make_backup("string-expiry", created_at=T0, expiredBy="1729232400000.0"),
            make_backup("no-completion", created_at=T0, status="in-progress", completedAt=MISSING),
            make_backup("empty-completion", created_at=T0, completedAt=""),
            make_backup("new-status", created_at=T0, status="verifying"),
            make_backup("no-created", created_at=T0, createdAt=MISSING),
        ],
    )
    async with client_for(fake_northflank) as nf:
        page = await nf.list_backups_page("d")
    by_id = {b.id: b for b in page.backups}
    assert set(by_id) == {"string-expiry", "no-completion", "empty-completion", "new-status"}
    assert by_id["string-expiry"].expires_at == datetime(2024, 10, 18, 6, 20, tzinfo=UTC)
    assert by_id["no-completion"].completed_at is None
    assert by_id["new-status"].status_text == "verifying"
    assert len(page.skipped) == 1 and "createdAt" in page.skipped[0]


@pytest.mark.parametrize(
    ("setup", "error"),
    [
        (lambda fake: None, NotFoundError),
        (lambda fake: fake.forbid("dest-1"), PermissionDeniedError),
    ],
)
async def test_api_errors_become_our_exceptions(
    fake_northflank: FakeNorthflank, setup: object, error: type[Exception]
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    setup(fake_northflank)  # type: ignore[operator]
    async with client_for(fake_northflank) as nf:
        with pytest.raises(error) as caught:
            await nf.list_backups_page("dest-1" if error is PermissionDeniedError else "nope")
    assert caught.value.status in {403, 404}  # type: ignore[attr-defined]


async def test_a_rejected_token_never_appears_in_the_error(fake_northflank: FakeNorthflank) -> None:
    secret = "nf-secret-token-value-123"
    async with client_for(fake_northflank, api_token=secret) as nf:
        with pytest.raises(AuthenticationError) as caught:
            await nf.list_destinations()
    assert caught.value.status == 401
    assert "Unauthorized" in caught.value.message
    assert secret not in repr(caught.value) and secret not in str(caught.value)


@pytest.mark.parametrize("kind", ["500", "502", "503", "429-bare", "html"])
async def test_transient_failures_are_retried(
    client: NorthflankClient, fake_northflank: FakeNorthflank, kind: str
) -> None:
    fake_northflank.fail_next(kind, times=2)  # type: ignore[arg-type]
    page = await client.list_backups_page("dest-1")
    assert len(page.backups) == 5
    assert fake_northflank.request_count() == 3


async def test_retry_after_is_honoured(fake_northflank: FakeNorthflank) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.fault_retry_after = 1
    fake_northflank.fail_next("429")
    async with client_for(fake_northflank) as nf:
        loop = asyncio.get_running_loop()
        started = loop.time()
        await nf.list_backups_page("dest-1")
        waited = loop.time() - started
    first, second = fake_northflank.requests
    assert second.at - first.at >= 1.0
    assert waited >= 1.0


async def test_persistent_5xx_gives_up_after_the_policy(
    client: NorthflankClient, fake_northflank: FakeNorthflank
) -> None:
    fake_northflank.fail_next("html", times=10)
    with pytest.raises(UnavailableError) as caught:
        await client.list_backups_page("dest-1")
    assert caught.value.status == 502
    assert "502 Bad Gateway" in caught.value.message
    assert fake_northflank.request_count() == FAST_RETRIES.attempts


async def test_timeouts_are_retried_then_reported(fake_northflank: FakeNorthflank) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.timeout_delay = 1.0
    fake_northflank.fail_next("timeout", times=10)
    async with client_for(
        fake_northflank,
        retry_policy=RetryPolicy(attempts=2, base_delay=0.01),
        timeout=httpx.Timeout(0.2),
    ) as nf:
        with pytest.raises(UnavailableError) as caught:
            await nf.list_backups_page("dest-1")
    assert "did not answer in time (after 2 attempts)" in str(caught.value)
    # Our transport's give-up is final: the SDK's own retry loop must not multiply it.
    assert fake_northflank.request_count() == 2


async def test_a_connection_lost_mid_answer_is_unavailable(
    client: NorthflankClient, fake_northflank: FakeNorthflank
) -> None:
    """Callers handle our exceptions only: an httpx error must never get past the client."""
    fake_northflank.fail_next("dropped", times=20)
    with pytest.raises(UnavailableError):
        await client.list_backups_page("dest-1")
    assert fake_northflank.faults_injected()["dropped"] >= 1


async def test_connection_refused_is_unavailable() -> None:
    async with NorthflankClient(
        api_token="t", base_url="http://127.0.0.1:9", retry_policy=FAST_RETRIES
    ) as nf:
        with pytest.raises(UnavailableError, match="could not connect"):
            await nf.list_destinations()


@pytest.mark.parametrize("kind", ["truncated", "wrong-shape"])
async def test_unusable_success_bodies_are_failures_not_empty_pages(
    client: NorthflankClient, fake_northflank: FakeNorthflank, kind: str
) -> None:
    fake_northflank.fail_next(kind)  # type: ignore[arg-type]
    with pytest.raises(MalformedResponseError):
        await client.list_backups_page("dest-1")


async def test_wrong_types_skip_the_broken_items(
    client: NorthflankClient, fake_northflank: FakeNorthflank
) -> None:
    fake_northflank.fail_next("wrong-types")
    page = await client.list_backups_page("dest-1")
    assert page.skipped
    assert len(page.backups) + len(page.skipped) == 5


async def test_rate_limit_budget_is_tracked(fake_northflank: FakeNorthflank) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.reset_rate_limit(remaining=3)
    async with client_for(fake_northflank) as nf:
        await nf.list_backups_page("dest-1")
        assert nf.rate_limit.limit == 1000
        assert nf.rate_limit.remaining == 2
        reset = nf.rate_limit.seconds_until_reset()
        assert reset is not None and 3000 < reset <= 3600
        await nf.list_backups_page("dest-1")
        await nf.list_backups_page("dest-1")
        assert nf.rate_limit.exhausted()
        # The window resets in about an hour: far beyond what a person should
        # wait for, so the error is passed up with the wait attached.
        with pytest.raises(RateLimitedError) as caught:
            await nf.list_backups_page("dest-1")
    assert caught.value.retry_after is not None and caught.value.retry_after > 3000
    assert fake_northflank.request_count() == 4


async def test_destination_ids_cannot_escape_their_path_segment(
    client: NorthflankClient, fake_northflank: FakeNorthflank
) -> None:
    with pytest.raises(NotFoundError):
        await client.list_backups_page("x/../../auth?y=#z")
    (request,) = fake_northflank.requests
    assert request.path.startswith("/v1/backup-destinations/")
    assert request.path.endswith("/backups")


# ----- writes: retain, abort, start ---------------------------------------------------------


def seed_writable(fake: FakeNorthflank) -> None:
    """A destination holding one running backup of addon `pg` in project `p`."""
    fake.add_destination("dest-1", "Primary")
    fake.add_backups(
        "dest-1",
        [make_backup("b1", status="in-progress", addon=("pg", "PG"), project=("p", "P"))],
    )


@pytest.mark.parametrize("team_id", [None, "team-9"])
async def test_each_write_reaches_its_endpoint_once(team_id: str | None) -> None:
    # With a team the fake acts like an organisation token: plain routes would be 403.
    with FakeNorthflank(team_id=team_id) as fake:
        seed_writable(fake)
        async with client_for(fake, team_id=team_id) as nf:
            await nf.retain_backup(project_id="p", addon_id="pg", backup_id="b1")
            await nf.abort_backup(project_id="p", addon_id="pg", backup_id="b1")
            started = await nf.start_backup(project_id="p", addon_id="pg", destination_id="dest-1")
        requests, writes, newest = fake.requests, fake.writes, fake.backups("dest-1")[0]

    prefix = f"/v1/teams/{team_id}" if team_id else "/v1"
    assert [(r.method, r.path) for r in requests] == [
        ("POST", f"{prefix}/projects/p/addons/pg/backups/b1/retain"),
        ("POST", f"{prefix}/projects/p/addons/pg/backups/b1/abort"),
        ("POST", f"{prefix}/projects/p/addons/pg/backups"),
    ]
    assert [(w.action, w.project_id, w.addon_id, w.backup_id, w.team_id) for w in writes] == [
        ("retain", "p", "pg", "b1", team_id),
        ("abort", "p", "pg", "b1", team_id),
        ("start", "p", "pg", None, team_id),
    ]
    assert writes[2].body == {"backupType": "dump", "customDestinationId": "dest-1"}
    # The new backup is the one now listed first in the destination the alert is about.
    assert started == StartedBackup(id=newest["id"], name=newest["name"], status="scheduled")
    assert newest["id"] != "b1"


async def test_start_without_a_destination_sends_an_empty_body(
    fake_northflank: FakeNorthflank,
) -> None:
    seed_writable(fake_northflank)
    async with client_for(fake_northflank) as nf:
        started = await nf.start_backup(project_id="p", addon_id="pg", destination_id=None)
    (write,) = fake_northflank.writes
    assert write.body == {}
    assert started.id not in {b["id"] for b in fake_northflank.backups("dest-1")}


@pytest.mark.parametrize("action", ["retain", "abort", "start"])
async def test_a_write_without_permission_is_permission_denied(
    fake_northflank: FakeNorthflank, action: str
) -> None:
    seed_writable(fake_northflank)
    fake_northflank.forbid_writes("pg")
    async with client_for(fake_northflank) as nf:
        with pytest.raises(PermissionDeniedError) as caught:
            await _write(nf, action, addon_id="pg", backup_id="b1")
    assert caught.value.status == 403
    assert "Project > Addons > General > Update" in caught.value.message
    assert fake_northflank.writes == []
    assert fake_northflank.request_count() == 1  # a 403 is an answer, not retried


@pytest.mark.parametrize(
    ("action", "addon_id", "backup_id"),
    [
        ("retain", "pg", "gone"),
        ("abort", "pg", "gone"),
        ("retain", "other", "b1"),
        ("start", "other", None),
    ],
)
async def test_a_write_to_something_unknown_is_not_found(
    fake_northflank: FakeNorthflank, action: str, addon_id: str, backup_id: str | None
) -> None:
    seed_writable(fake_northflank)
    async with client_for(fake_northflank) as nf:
        with pytest.raises(NotFoundError) as caught:
            await _write(nf, action, addon_id=addon_id, backup_id=backup_id or "b1")
    assert caught.value.status == 404
    assert fake_northflank.writes == []


@pytest.mark.parametrize(
    ("action", "field"),
    [
        *(
            (action, field)
            for action in ("retain", "abort")
            for field in ("project_id", "addon_id", "backup_id")
        ),
        *(("start", field) for field in ("project_id", "addon_id", "destination_id")),
    ],
)
@pytest.mark.parametrize("bad", ["..", "a/b", ".", "", "x?y", "-x", "a" * 101])
async def test_an_id_that_is_not_plain_never_reaches_the_api(
    fake_northflank: FakeNorthflank, action: str, field: str, bad: str
) -> None:
    seed_writable(fake_northflank)
    ids = {"project_id": "p", "addon_id": "pg", "backup_id": "b1", "destination_id": "dest-1"}
    ids[field] = bad
    async with client_for(fake_northflank) as nf:
        with pytest.raises(NotFoundError) as caught:
            await _write(nf, action, **ids)
    assert caught.value.status == 404
    assert fake_northflank.requests == []


async def test_the_longest_plain_id_is_still_sent(fake_northflank: FakeNorthflank) -> None:
    """The control for the test above: its refusals are about the ids' shape."""
    seed_writable(fake_northflank)
    async with client_for(fake_northflank) as nf:
        with pytest.raises(NotFoundError):
            await nf.retain_backup(project_id="p", addon_id="pg", backup_id="B_-9" + "a" * 96)
    (request,) = fake_northflank.requests
    assert request.path == f"/v1/projects/p/addons/pg/backups/B_-9{'a' * 96}/retain"


@pytest.mark.parametrize("action", ["retain", "abort"])
@pytest.mark.parametrize("kind", [None, "no-body"])
async def test_retain_and_abort_succeed_with_an_empty_answer(
    fake_northflank: FakeNorthflank, action: str, kind: FaultKind | None
) -> None:
    """Northflank may answer these with `{"data": {}}` or with no body at all."""
    seed_writable(fake_northflank)
    if kind is not None:
        fake_northflank.fail_next(kind)
    async with client_for(fake_northflank) as nf:
        await _write(nf, action, addon_id="pg", backup_id="b1")
    assert [w.action for w in fake_northflank.writes] == [action]
    assert fake_northflank.faults_injected() == ({kind: 1} if kind else {})


@pytest.mark.parametrize("action", ["retain", "start"])
async def test_a_write_answered_with_a_cut_off_body_is_not_a_success(
    fake_northflank: FakeNorthflank, action: str
) -> None:
    """Half a JSON body may be a proxy's doing: the bot must not claim the write worked."""
    seed_writable(fake_northflank)
    fake_northflank.fail_next("truncated")
    async with client_for(fake_northflank) as nf:
        with pytest.raises(MalformedResponseError):
            await _write(nf, action, addon_id="pg", backup_id="b1")
    assert fake_northflank.faults_injected() == {"truncated": 1}


async def test_a_started_backup_without_an_id_is_malformed(
    fake_northflank: FakeNorthflank,
) -> None:
    seed_writable(fake_northflank)
    fake_northflank.fail_next("wrong-shape")  # data: [backup] instead of the backup
    async with client_for(fake_northflank) as nf:
        with pytest.raises(MalformedResponseError, match="started backup"):
            await nf.start_backup(project_id="p", addon_id="pg", destination_id=None)


async def test_a_started_backup_with_odd_fields_falls_back(
    fake_northflank: FakeNorthflank,
) -> None:
    seed_writable(fake_northflank)
    fake_northflank.fail_next("wrong-types")  # name 42, status 3
    async with client_for(fake_northflank) as nf:
        started = await nf.start_backup(project_id="p", addon_id="pg", destination_id="dest-1")
    newest = fake_northflank.backups("dest-1")[0]
    assert started == StartedBackup(id=newest["id"], name=newest["id"], status="scheduled")


@pytest.mark.parametrize("kind", ["503", "timeout", "dropped"])
async def test_a_start_that_may_have_reached_northflank_is_never_sent_twice(
    fake_northflank: FakeNorthflank, kind: FaultKind
) -> None:
    """A second POST could start a second backup: after a 5xx, a timeout or a connection
    lost mid-answer the bot reports the failure instead of retrying (a GET is retried)."""
    seed_writable(fake_northflank)
    fake_northflank.timeout_delay = 1.0
    fake_northflank.fail_next(kind, path_contains="/addons/")
    outcome: object = None
    async with client_for(fake_northflank, timeout=httpx.Timeout(0.3)) as nf:
        try:
            outcome = await nf.start_backup(project_id="p", addon_id="pg", destination_id="dest-1")
        except Exception as exc:  # asserted below, after the count that matters most
            outcome = exc
    posts = [r.path for r in fake_northflank.requests if r.method == "POST"]
    assert len(posts) == 1, (posts, outcome)
    assert isinstance(outcome, UnavailableError), outcome
    assert fake_northflank.faults_injected() == {kind: 1}


async def test_a_start_refused_with_429_is_sent_again(fake_northflank: FakeNorthflank) -> None:
    """Northflank did nothing with a rate-limited request, so resending starts one backup."""
    seed_writable(fake_northflank)
    fake_northflank.fault_retry_after = 0
    fake_northflank.fail_next("429", path_contains="/addons/")
    async with client_for(fake_northflank) as nf:
        started = await nf.start_backup(project_id="p", addon_id="pg", destination_id="dest-1")
    assert fake_northflank.request_count() == 2
    (write,) = fake_northflank.writes
    assert write.action == "start"
    assert started.id == fake_northflank.backups("dest-1")[0]["id"]


async def _write(
    nf: NorthflankClient,
    action: str,
    *,
    project_id: str = "p",
    addon_id: str = "pg",
    backup_id: str = "b1",
    destination_id: str = "dest-1",
) -> None:
    """One of the three writes, by name, so a test can run against each."""
    if action == "retain":
        await nf.retain_backup(project_id=project_id, addon_id=addon_id, backup_id=backup_id)
    elif action == "abort":
        await nf.abort_backup(project_id=project_id, addon_id=addon_id, backup_id=backup_id)
    elif action == "start":
        await nf.start_backup(
            project_id=project_id, addon_id=addon_id, destination_id=destination_id
        )
    else:
        raise AssertionError(f"unknown write {action!r}")
