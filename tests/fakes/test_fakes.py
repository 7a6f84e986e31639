"""FakeNorthflank behaves like the documented API, and its faults look like the real ones."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.fakes._faults import FaultQueue
from tests.fakes.northflank import (
    DEFAULT_TOKEN,
    MISSING,
    FakeNorthflank,
    FaultKind,
    make_backup,
)
from tests.fakes.pagination import encode_cursor

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
BASE = datetime(2024, 10, 1, tzinfo=UTC)
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
BACKUP_KEYS = {
    "id",
    "name",
    "status",
    "project",
    "addon",
    "config",
    "schedules",
    "expiredBy",
    "createdAt",
    "completedAt",
}


def client_for(fake: FakeNorthflank) -> httpx.Client:
    return httpx.Client(base_url=fake.url, headers=AUTH, timeout=5.0)


@pytest.fixture
def api(fake_northflank: FakeNorthflank) -> Iterator[httpx.Client]:
    with client_for(fake_northflank) as client:
        yield client


def backups_at(count: int, prefix: str = "b", start: datetime = BASE) -> list[dict[str, Any]]:
    """``count`` backups one minute apart, returned shuffled: the fake must sort them."""
    backups = [
        make_backup(f"{prefix}{i:03d}", created_at=start + timedelta(minutes=i))
        for i in range(count)
    ]
    random.Random(count).shuffle(backups)
    return backups


def with_backups(fake: FakeNorthflank, count: int, dest: str = "dest-1") -> list[str]:
    """Add a destination holding ``count`` backups; return their ids newest first."""
    fake.add_destination(dest, "Primary")
    fake.add_backups(dest, backups_at(count))
    return [f"b{i:03d}" for i in reversed(range(count))]


def walk(api: httpx.Client, path: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Yield each page body, following the cursor like the official clients do."""
    while True:
        response = api.get(path, params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        yield body
        if not body["pagination"]["hasNextPage"]:
            return
        params["cursor"] = body["pagination"]["cursor"]


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"status", "message", "id", "details"}
    assert error["status"] == response.status_code
    assert isinstance(error["id"], str)
    assert error["id"]
    return error


# ----- pagination -----------------------------------------------------------------------


def test_cursor_walk_returns_every_backup_once_newest_first(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    expected = with_backups(fake_northflank, 237)

    pages = list(walk(api, "/v1/backup-destinations/dest-1/backups", per_page=50))

    assert [b["id"] for page in pages for b in page["data"]] == expected
    assert [page["pagination"]["count"] for page in pages] == [50, 50, 50, 50, 37]
    assert "cursor" not in pages[-1]["pagination"]


def test_cursor_walk_has_no_repeats_or_gaps_when_backups_arrive_at_the_head(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    expected = with_backups(fake_northflank, 120)
    seen: list[str] = []

    for number, page in enumerate(walk(api, "/v1/backup-destinations/dest-1/backups", per_page=25)):
        seen += [b["id"] for b in page["data"]]
        # Newer than everything: these land at the head, before the cursor.
        newer = BASE + timedelta(days=1 + number)
        fake_northflank.add_backups("dest-1", backups_at(3, f"new{number}-", newer))

    assert seen == expected


def test_page_number_pagination_also_works(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    expected = with_backups(fake_northflank, 30)

    body = api.get("/v1/backup-destinations/dest-1/backups", params={"per_page": 10, "page": 2})

    assert [b["id"] for b in body.json()["data"]] == expected[10:20]
    assert body.json()["pagination"]["hasNextPage"] is True


def test_per_page_defaults_to_50_and_is_capped_at_100(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 150)
    path = "/v1/backup-destinations/dest-1/backups"

    assert len(api.get(path).json()["data"]) == 50
    assert len(api.get(path, params={"per_page": 100}).json()["data"]) == 100
    capped = api.get(path, params={"per_page": 500}).json()
    assert len(capped["data"]) == 100
    assert capped["pagination"]["count"] == 100


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "-3"}, "per_page"),
        ({"per_page": "ten"}, "per_page"),
        ({"per_page": "1.5"}, "per_page"),
        ({"page": "0"}, "page"),
        ({"cursor": "%%% not base64 %%%"}, "cursor"),
        ({"cursor": encode_cursor("no-such-backup")}, "cursor"),
    ],
)
def test_bad_pagination_parameters_are_400(
    fake_northflank: FakeNorthflank, api: httpx.Client, params: dict[str, str], parameter: str
) -> None:
    with_backups(fake_northflank, 3)

    response = api.get("/v1/backup-destinations/dest-1/backups", params=params)

    assert response.status_code == 400
    assert error_of(response)["details"]["parameter"] == parameter


def test_destinations_are_listed_paginated_and_fetched_one_by_one(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.add_destination("dest-1", "Primary", description="EU bucket")
    fake_northflank.add_destination("dest-2", "Secondary")
    fake_northflank.add_destination("dest-3", "Tertiary")

    pages = list(walk(api, "/v1/backup-destinations", per_page=2))
    listed = [d for page in pages for d in page["data"]["backupDestinations"]]
    one = api.get("/v1/backup-destinations/dest-1").json()

    assert [d["id"] for d in listed] == ["dest-1", "dest-2", "dest-3"]
    assert listed[1] == {
        "id": "dest-2",
        "name": "Secondary",
        "type": "s3",
        "usage": "globalBackups",
        "prefix": "",
    }
    assert one == {"data": listed[0]}
    assert one["data"]["description"] == "EU bucket"


# ----- the documented shapes and their quirks ---------------------------------------------


def test_make_backup_has_the_documented_shape() -> None:
    backup = make_backup(
        "b1",
        created_at=BASE,
        expired_by=BASE + timedelta(days=1),
        schedules=[{"interval": "daily", "minute": [0], "hour": [3]}],
    )

    assert set(backup) == BACKUP_KEYS
    assert backup["config"] == {
        "size": "1234",
        "addonVersion": "16",
        "addonType": "postgresql",
        "source": {"type": "global"},
    }
    assert backup["createdAt"] == "2024-10-01T00:00:00.000Z"
    assert backup["completedAt"] == "2024-10-01T00:01:30.000Z"
    assert backup["expiredBy"] == 1727827200000
    assert backup["addon"] == {"id": "addon-1", "name": "Postgres"}


def test_unfinished_backups_have_no_completed_at() -> None:
    assert "completedAt" not in make_backup("b1", status="in-progress")
    assert "completedAt" not in make_backup("b1", status="scheduled")


@pytest.mark.parametrize(
    "overrides",
    [
        {"expiredBy": "1729232400000.0"},
        {"completedAt": None},
        {"completedAt": ""},
        {"completedAt": MISSING},
        {"status": "brand-new-status"},
    ],
)
def test_quirky_fields_reach_the_client_verbatim(
    fake_northflank: FakeNorthflank, api: httpx.Client, overrides: dict[str, Any]
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups("dest-1", [make_backup("b1", **overrides)])

    item = api.get("/v1/backup-destinations/dest-1/backups").json()["data"][0]

    for key, value in overrides.items():
        if value is MISSING:
            assert key not in item
        else:
            assert item[key] == value


def test_set_backup_status_changes_what_the_api_lists(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups("dest-1", [make_backup("b1", status="in-progress")])

    fake_northflank.set_backup_status("dest-1", "b1", "completed", completed_at=BASE)

    item = api.get("/v1/backup-destinations/dest-1/backups").json()["data"][0]
    assert (item["status"], item["completedAt"]) == ("completed", "2024-10-01T00:00:00.000Z")


def test_stored_backups_are_copies(fake_northflank: FakeNorthflank) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    backup = make_backup("b1")
    fake_northflank.add_backups("dest-1", [backup])

    backup["status"] = "failed"

    assert fake_northflank.backups("dest-1")[0]["status"] == "completed"


# ----- auth, permissions, team scope ------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "x"}])
def test_missing_or_wrong_token_is_401(
    fake_northflank: FakeNorthflank, headers: dict[str, str]
) -> None:
    response = httpx.get(f"{fake_northflank.url}/v1/backup-destinations", headers=headers)

    assert response.status_code == 401
    assert error_of(response)["message"] == "Unauthorized"
    recorded = fake_northflank.requests[-1]
    assert recorded.auth_present == bool(headers)
    assert recorded.auth_valid is False


def test_set_token_revokes_the_old_one(fake_northflank: FakeNorthflank, api: httpx.Client) -> None:
    fake_northflank.set_token("rotated")

    assert api.get("/v1/auth").status_code == 401
    assert api.get("/v1/auth", headers={"Authorization": "Bearer rotated"}).status_code == 200


def test_forbidden_destination_is_403_but_still_listed() -> None:
    with FakeNorthflank(forbidden_destinations={"secret"}) as fake, client_for(fake) as api:
        fake.add_destination("secret", "Locked")

        listing = api.get("/v1/backup-destinations")
        one = api.get("/v1/backup-destinations/secret")
        backups = api.get("/v1/backup-destinations/secret/backups")

    assert [d["id"] for d in listing.json()["data"]["backupDestinations"]] == ["secret"]
    assert (one.status_code, backups.status_code) == (403, 403)
    assert error_of(backups)["details"] == {"backupDestinationId": "secret"}


@pytest.mark.parametrize(
    "path", ["/v1/backup-destinations/nope", "/v1/backup-destinations/nope/backups", "/v1/nope"]
)
def test_unknown_things_are_404_with_a_json_error(api: httpx.Client, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 404
    error_of(response)


def test_team_token_works_on_plain_and_team_routes(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    expected = with_backups(fake_northflank, 3)

    plain = api.get("/v1/backup-destinations/dest-1/backups").json()
    team = api.get("/v1/teams/any-team/backup-destinations/dest-1/backups").json()

    assert [b["id"] for b in plain["data"]] == [b["id"] for b in team["data"]] == expected
    assert api.get("/v1/auth").json()["data"]["entityType"] == "team"


def test_org_token_needs_the_team_routes() -> None:
    with FakeNorthflank(team_id="team-1") as fake, client_for(fake) as api:
        fake.add_destination("dest-1", "Primary")

        plain = api.get("/v1/backup-destinations")
        mine = api.get("/v1/teams/team-1/backup-destinations/dest-1/backups")
        other = api.get("/v1/teams/team-2/backup-destinations")
        who = api.get("/v1/auth")

    assert (plain.status_code, mine.status_code, other.status_code) == (403, 200, 403)
    error_of(plain)
    assert who.json()["data"]["entityType"] == "org"


# ----- write endpoints --------------------------------------------------------------------


def test_retain_abort_and_start_are_recorded(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups(
        "dest-1", [make_backup("b1", status="in-progress", addon=("pg", "PG"), project=("p", "P"))]
    )
    addon = "/v1/projects/p/addons/pg/backups"

    retain = api.post(f"{addon}/b1/retain")
    abort = api.post("/v1/teams/t/projects/p/addons/pg/backups/b1/abort")
    start = api.post(addon, json={"name": "manual"})

    assert retain.json() == abort.json() == {"data": {}}
    assert isinstance(start.json()["data"]["id"], str)
    assert fake_northflank.backups("dest-1")[0]["status"] == "aborting"
    writes = fake_northflank.writes
    assert [(w.action, w.backup_id, w.team_id) for w in writes] == [
        ("retain", "b1", None),
        ("abort", "b1", "t"),
        ("start", None, None),
    ]
    assert writes[2].body == {"name": "manual"}


@pytest.mark.parametrize(
    "path",
    [
        "/v1/projects/p/addons/pg/backups/nope/retain",
        "/v1/projects/p/addons/other/backups/b1/abort",
        "/v1/projects/p/addons/other/backups",
        "/v1/projects/q/addons/pg/backups",
    ],
)
def test_writes_to_unknown_backups_or_addons_are_404(
    fake_northflank: FakeNorthflank, api: httpx.Client, path: str
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    backup = make_backup("b1", addon=("pg", "PG"), project=("p", "P"))
    fake_northflank.add_backups("dest-1", [backup])

    response = api.post(path)

    assert response.status_code == 404
    error_of(response)
    assert fake_northflank.writes == []


def test_start_works_for_an_addon_registered_without_backups(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.add_addon("p", "redis")

    assert api.post("/v1/projects/p/addons/redis/backups").status_code == 200


def _two_addons(fake: FakeNorthflank) -> None:
    fake.add_destination("dest-1", "Primary")
    fake.add_backups(
        "dest-1",
        [
            make_backup("b1", status="in-progress", addon=("pg", "PG"), project=("p", "P")),
            make_backup("r1", status="in-progress", addon=("redis", "R"), project=("p", "P")),
        ],
    )


def test_forbid_writes_refuses_the_named_addons_only(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    _two_addons(fake_northflank)
    fake_northflank.forbid_writes("pg")

    refused = [
        api.post("/v1/projects/p/addons/pg/backups/b1/retain"),
        api.post("/v1/teams/t/projects/p/addons/pg/backups/b1/abort"),
        api.post("/v1/projects/p/addons/pg/backups", json={}),
    ]
    allowed = api.post("/v1/projects/p/addons/redis/backups/r1/abort")

    for response in refused:
        assert response.status_code == 403
        error = error_of(response)
        assert error["message"] == "Missing permission: Project > Addons > General > Update"
        assert error["details"] == {"addonId": "pg"}
    assert allowed.status_code == 200
    # Refused before anything was done: no write recorded, the backup still runs.
    assert [(w.action, w.addon_id) for w in fake_northflank.writes] == [("abort", "redis")]
    statuses = {b["id"]: b["status"] for b in fake_northflank.backups("dest-1")}
    assert statuses == {"b1": "in-progress", "r1": "aborting"}
    # Reads are not writes: the listing is still served.
    assert api.get("/v1/backup-destinations/dest-1/backups").status_code == 200


def test_forbid_writes_without_addons_refuses_every_write(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    _two_addons(fake_northflank)
    fake_northflank.forbid_writes("pg")
    fake_northflank.forbid_writes()
    fake_northflank.forbid_writes("other")  # naming more changes nothing once all are refused

    statuses = [
        api.post("/v1/projects/p/addons/redis/backups/r1/retain").status_code,
        api.post("/v1/projects/p/addons/redis/backups/r1/abort").status_code,
        api.post("/v1/projects/p/addons/redis/backups", json={}).status_code,
        api.post("/v1/projects/p/addons/pg/backups/b1/retain").status_code,
        # The permission is checked first: even an unknown backup gets the 403.
        api.post("/v1/projects/p/addons/pg/backups/nope/abort").status_code,
    ]

    assert statuses == [403] * 5
    assert fake_northflank.writes == []
    for backup in fake_northflank.backups("dest-1"):
        assert backup["status"] == "in-progress" and "expiredBy" in backup, backup


def test_a_backup_started_into_a_known_destination_is_listed_first(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 3)
    fake_northflank.add_destination("dest-2", "Other")
    now = BASE + timedelta(days=1, minutes=7)
    fake_northflank.now = lambda: now

    started = api.post(
        "/v1/projects/project-1/addons/addon-1/backups", json={"customDestinationId": "dest-1"}
    ).json()["data"]
    listed = api.get("/v1/backup-destinations/dest-1/backups").json()["data"]

    assert [b["id"] for b in listed] == [started["id"], "b002", "b001", "b000"]
    assert listed[0] == started
    assert started["status"] == "scheduled"
    assert started["createdAt"] == "2024-10-02T00:07:00.000Z"
    assert "completedAt" not in started
    assert (started["project"]["id"], started["addon"]["id"]) == ("project-1", "addon-1")
    assert api.get("/v1/backup-destinations/dest-2/backups").json()["data"] == []
    (write,) = fake_northflank.writes
    assert (write.action, write.body) == ("start", {"customDestinationId": "dest-1"})


@pytest.mark.parametrize("body", [None, {}, {"customDestinationId": "nowhere"}])
def test_a_backup_started_elsewhere_is_in_no_listing_but_can_be_written_to(
    fake_northflank: FakeNorthflank, api: httpx.Client, body: dict[str, str] | None
) -> None:
    with_backups(fake_northflank, 2)

    started = api.post("/v1/projects/project-1/addons/addon-1/backups", json=body).json()["data"]
    listed = [b["id"] for b in api.get("/v1/backup-destinations/dest-1/backups").json()["data"]]
    abort = api.post(f"/v1/projects/project-1/addons/addon-1/backups/{started['id']}/abort")

    assert listed == ["b001", "b000"]
    assert abort.status_code == 200
    assert [w.action for w in fake_northflank.writes] == ["start", "abort"]


def test_started_backups_get_distinct_ids_wherever_they_go(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 1)
    path = "/v1/projects/project-1/addons/addon-1/backups"

    ids = [
        api.post(path, json=body).json()["data"]["id"]
        for body in ({"customDestinationId": "dest-1"}, {}, {"customDestinationId": "dest-1"})
    ]

    assert len(set(ids)) == 3
    listed = [b["id"] for b in fake_northflank.backups("dest-1")]
    assert set(listed) == {ids[0], ids[2], "b000"}


def test_retain_removes_the_expiry(fake_northflank: FakeNorthflank, api: httpx.Client) -> None:
    with_backups(fake_northflank, 2)
    before = {b["id"]: b for b in fake_northflank.backups("dest-1")}
    assert all("expiredBy" in b for b in before.values())

    response = api.post("/v1/projects/project-1/addons/addon-1/backups/b000/retain")

    assert response.json() == {"data": {}}
    listed = {b["id"]: b for b in api.get("/v1/backup-destinations/dest-1/backups").json()["data"]}
    assert "expiredBy" not in listed["b000"]
    assert listed["b001"] == before["b001"]
    assert {k: v for k, v in before["b000"].items() if k != "expiredBy"} == listed["b000"]


def test_no_body_fault_keeps_the_status_and_drops_the_body(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 1)
    fake_northflank.fail_next("no-body", times=2, path_contains="/addons/")

    retained = api.post("/v1/projects/project-1/addons/addon-1/backups/b000/retain")
    missing = api.post("/v1/projects/project-1/addons/addon-1/backups/nope/retain")

    assert (retained.status_code, retained.content) == (200, b"")
    assert (missing.status_code, missing.content) == (404, b"")
    assert [w.backup_id for w in fake_northflank.writes] == ["b000"]
    assert fake_northflank.faults_injected() == {"no-body": 2}


def test_dropped_fault_does_the_write_then_cuts_the_answer(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.add_addon("p", "pg")
    fake_northflank.fail_next("dropped", path_contains="/addons/")

    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v1/projects/p/addons/pg/backups", json={})
    after = api.get("/v1/auth")

    assert [w.action for w in fake_northflank.writes] == ["start"]
    assert fake_northflank.faults_injected() == {"dropped": 1}
    assert after.status_code == 200  # the fake itself carries on


# ----- rate limit -------------------------------------------------------------------------


def test_every_response_carries_rate_limit_headers(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 1)
    responses = [
        api.get("/v1/auth"),
        api.get("/v1/backup-destinations/dest-1/backups"),
        api.get("/v1/backup-destinations/nope"),
        api.get("/v1/backup-destinations/dest-1/backups", params={"per_page": "x"}),
        httpx.get(f"{fake_northflank.url}/v1/auth"),
    ]

    assert [r.status_code for r in responses] == [200, 200, 404, 400, 401]
    for response in responses:
        assert all(name in response.headers for name in RATE_HEADERS)
        assert response.headers["x-ratelimit-limit"] == "1000"
        assert 0 < int(response.headers["x-ratelimit-reset"]) <= 3600
    assert [int(r.headers["x-ratelimit-remaining"]) for r in responses] == [999, 998, 997, 996, 995]


def test_exhausted_limit_is_429_with_retry_after() -> None:
    with FakeNorthflank(rate_limit=3, rate_window=60) as fake, client_for(fake) as api:
        statuses = [api.get("/v1/auth") for _ in range(4)]
        fake.reset_rate_limit()
        after_reset = api.get("/v1/auth")

    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    assert [r.headers["x-ratelimit-remaining"] for r in statuses] == ["2", "1", "0", "0"]
    limited = statuses[-1]
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    error_of(limited)
    assert after_reset.status_code == 200


# ----- fault injection --------------------------------------------------------------------


def test_fault_429_has_retry_after_and_zero_remaining(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.fail_next("429")

    response = api.get("/v1/auth")

    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert response.headers["x-ratelimit-remaining"] == "0"
    assert response.headers["x-ratelimit-limit"] == "1000"
    # Spent until Retry-After: both headers say when the window resets.
    assert response.headers["x-ratelimit-reset"] == "1"
    error_of(response)
    assert api.get("/v1/auth").status_code == 200


def test_fault_429_bare_has_no_rate_headers(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.fail_next("429-bare")

    response = api.get("/v1/auth")

    assert response.status_code == 429
    assert "Retry-After" not in response.headers
    assert not any(name in response.headers for name in RATE_HEADERS)


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_error_faults(
    fake_northflank: FakeNorthflank, api: httpx.Client, kind: FaultKind
) -> None:
    fake_northflank.fail_next(kind)

    response = api.get("/v1/auth")

    assert response.status_code == int(kind)
    error_of(response)
    assert all(name in response.headers for name in RATE_HEADERS)


def test_html_fault_looks_like_a_proxy_page(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.fail_next("html")

    response = api.get("/v1/auth")

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    assert response.text.startswith("<html>")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_truncated_fault_is_a_200_with_half_a_json_body(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 5)
    path = "/v1/backup-destinations/dest-1/backups"
    fake_northflank.fail_next("truncated")

    truncated = api.get(path)
    full = api.get(path)

    assert truncated.status_code == 200
    assert truncated.headers["content-type"].startswith("application/json")
    assert full.content.startswith(truncated.content)
    assert len(truncated.content) == len(full.content) // 2
    with pytest.raises(json.JSONDecodeError):
        truncated.json()


def test_wrong_types_fault_breaks_field_types(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 2)
    fake_northflank.fail_next("wrong-types")

    response = api.get("/v1/backup-destinations/dest-1/backups")

    assert response.status_code == 200
    item = response.json()["data"][0]
    assert isinstance(item["status"], int)
    assert isinstance(item["config"]["size"], list)


def test_wrong_shape_fault_makes_data_an_object(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 2)
    fake_northflank.fail_next("wrong-shape")

    response = api.get("/v1/backup-destinations/dest-1/backups")

    assert response.status_code == 200
    assert isinstance(response.json()["data"], dict)


def test_faults_are_consumed_only_by_matching_paths_and_count_down(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 1)
    fake_northflank.fail_next("503", times=2, path_contains="/backups")
    path = "/v1/backup-destinations/dest-1/backups"

    statuses = [api.get("/v1/auth").status_code] + [api.get(path).status_code for _ in range(3)]

    assert statuses == [200, 503, 503, 200]


def test_skip_lets_that_many_matching_requests_through_first(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 1)
    fake_northflank.fail_next("503", path_contains="/backups", skip=2)
    path = "/v1/backup-destinations/dest-1/backups"

    statuses = [api.get("/v1/auth").status_code] + [api.get(path).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 503, 200]


def test_a_skipping_fault_counts_requests_an_older_fault_strikes() -> None:
    queue = FaultQueue()
    queue.push("first", 1, lambda _: True)
    queue.push("third", 1, lambda _: True, skip=2)

    assert [queue.take("any") for _ in range(4)] == ["first", None, "third", None]
    assert len(queue) == 0


def test_faults_injected_counts_what_the_client_received(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 2)
    path = "/v1/backup-destinations/dest-1/backups"
    kinds: list[FaultKind] = ["429", "429-bare", "html", "503", "truncated", "wrong-types"]
    for kind in kinds:
        fake_northflank.fail_next(kind, path_contains="/backups")
    fake_northflank.fail_next("wrong-shape", path_contains="/nowhere")  # never taken

    for _ in range(len(kinds) + 1):
        api.get(path)

    assert fake_northflank.faults_injected() == dict.fromkeys(kinds, 1)


def test_an_overridden_fault_is_not_counted() -> None:
    with FakeNorthflank(error_rate=1.0) as fake, client_for(fake) as api:
        fake.fail_next("truncated")

        api.get("/v1/auth")

        assert fake.faults_injected() == {"500": 1}


def test_unknown_fault_kind_is_rejected(fake_northflank: FakeNorthflank) -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake_northflank.fail_next("teapot")  # type: ignore[arg-type]


async def test_timeout_fault_trips_client_timeouts_without_blocking_others(
    fake_northflank: FakeNorthflank,
) -> None:
    fake_northflank.timeout_delay = 2.0
    fake_northflank.fail_next("timeout", path_contains="/backup-destinations")
    async with httpx.AsyncClient(base_url=fake_northflank.url, headers=AUTH) as client:
        slow = asyncio.create_task(client.get("/v1/backup-destinations", timeout=0.5))
        await asyncio.sleep(0.1)  # let the slow request reach its fault first
        started = time.monotonic()
        quick = await client.get("/v1/auth", timeout=5.0)
        quick_took = time.monotonic() - started

        with pytest.raises(httpx.ReadTimeout):
            await slow

    assert quick.status_code == 200
    assert quick_took < 1.5  # well under the 2 s the slow request is parked for


def test_timeout_fault_answers_normally_after_the_delay(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.timeout_delay = 0.3
    fake_northflank.fail_next("timeout")

    started = time.monotonic()
    response = api.get("/v1/auth")

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    assert fake_northflank.faults_injected() == {"timeout": 1}


def test_stop_does_not_wait_for_a_pending_timeout() -> None:
    fake = FakeNorthflank(timeout_delay=30).start()
    fake.fail_next("timeout")
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{fake.url}/v1/auth", headers=AUTH, timeout=0.2)

    started = time.monotonic()
    fake.stop()

    assert time.monotonic() - started < 2


def test_latency_is_added_to_every_response(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    fake_northflank.latency = 0.2

    started = time.monotonic()
    api.get("/v1/auth")

    assert time.monotonic() - started >= 0.2


def test_error_rate_is_reproducible_with_a_seed() -> None:
    def statuses() -> list[int]:
        with FakeNorthflank(error_rate=0.5, seed=42) as fake, client_for(fake) as api:
            return [api.get("/v1/auth").status_code for _ in range(20)]

    first = statuses()

    assert first == statuses()
    assert set(first) == {200, 500}


def test_error_rate_wins_over_a_body_fault() -> None:
    with FakeNorthflank(error_rate=1.0) as fake, client_for(fake) as api:
        fake.fail_next("truncated")

        response = api.get("/v1/auth")

    assert response.status_code == 500
    error_of(response)


# ----- recording --------------------------------------------------------------------------


def test_requests_are_recorded_without_the_token(
    fake_northflank: FakeNorthflank, api: httpx.Client
) -> None:
    with_backups(fake_northflank, 1)

    api.get("/v1/backup-destinations/dest-1/backups", params={"per_page": 5})
    api.post("/v1/projects/p/addons/a/backups", json={"x": 1})

    first, second = fake_northflank.requests
    assert (first.method, first.path, first.query) == (
        "GET",
        "/v1/backup-destinations/dest-1/backups",
        {"per_page": "5"},
    )
    assert first.auth_present
    assert first.auth_valid
    assert "authorization" not in {name.lower() for name in first.headers}
    assert DEFAULT_TOKEN not in repr(fake_northflank.requests)
    assert second.json() == {"x": 1}
    assert fake_northflank.request_count() == 2
    assert fake_northflank.request_count("/v1/backup-destinations") == 1
    fake_northflank.clear_requests()
    assert fake_northflank.request_count() == 0


def test_peer_tells_connections_apart(fake_northflank: FakeNorthflank, api: httpx.Client) -> None:
    for _ in range(3):
        api.get("/v1/auth")
    with client_for(fake_northflank) as other:
        other.get("/v1/auth")

    peers = [r.peer for r in fake_northflank.requests]

    assert peers[0] == peers[1] == peers[2] != peers[3]
    assert peers[0].startswith("127.0.0.1:")


# ----- lifecycle and reachability ---------------------------------------------------------


def test_lifecycle() -> None:
    fake = FakeNorthflank()
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url
    with fake, FakeNorthflank() as other:
        assert fake.url.startswith("http://127.0.0.1:")
        assert fake.url != other.url
        with pytest.raises(RuntimeError, match="already running"):
            fake.start()
    fake.stop()  # idempotent
    assert not fake.running


async def test_reachable_from_an_async_test(fake_northflank: FakeNorthflank) -> None:
    expected = with_backups(fake_northflank, 120)
    seen: list[str] = []
    params: dict[str, Any] = {"per_page": 100}
    async with httpx.AsyncClient(base_url=fake_northflank.url, headers=AUTH) as client:
        while True:
            response = await client.get("/v1/backup-destinations/dest-1/backups", params=params)
            body = response.json()
            seen += [b["id"] for b in body["data"]]
            if not body["pagination"]["hasNextPage"]:
                break
            params["cursor"] = body["pagination"]["cursor"]

    assert seen == expected


def test_reachable_from_a_subprocess(fake_northflank: FakeNorthflank) -> None:
    script = (
        "import sys, urllib.request\n"
        "request = urllib.request.Request(sys.argv[1], headers={'Authorization': sys.argv[2]})\n"
        "print(urllib.request.urlopen(request).status)\n"
    )
    url = f"{fake_northflank.url}/v1/auth"

    result = subprocess.run(
        [sys.executable, "-c", script, url, AUTH["Authorization"]],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert result.stdout.strip() == "200"
