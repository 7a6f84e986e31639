"""One base URL, several Northflank teams: each token sees its own team, and only that."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.northflank.client import NorthflankClient
from bot.northflank.errors import AuthenticationError
from tests.fakes.northflank import make_backup
from tests.fakes.northflank_teams import FakeNorthflankTeams

AT = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def teams() -> Iterator[FakeNorthflankTeams]:
    with FakeNorthflankTeams() as router:
        yield router


def _get(teams: FakeNorthflankTeams, token: str, path: str) -> httpx.Response:
    return httpx.get(f"{teams.url}{path}", headers={"Authorization": f"Bearer {token}"})


def test_each_token_lists_only_its_own_teams_destinations(teams: FakeNorthflankTeams) -> None:
    acme, globex = teams.add_team("tok-acme"), teams.add_team("tok-globex")
    acme.add_destination("s3", "Acme S3")
    globex.add_destination("s3", "Globex S3")
    globex.add_destination("gcs", "Globex GCS")
    acme.add_backups("s3", [make_backup("a1", created_at=AT)])
    globex.add_backups("s3", [make_backup("g1", created_at=AT), make_backup("g2", created_at=AT)])

    def names(token: str) -> list[str]:
        body = _get(teams, token, "/v1/backup-destinations").json()
        return [d["name"] for d in body["data"]["backupDestinations"]]

    def backups(token: str) -> list[str]:
        body = _get(teams, token, "/v1/backup-destinations/s3/backups").json()
        return sorted(b["id"] for b in body["data"])

    assert names("tok-acme") == ["Acme S3"]
    assert sorted(names("tok-globex")) == ["Globex GCS", "Globex S3"]
    assert backups("tok-acme") == ["a1"]
    assert backups("tok-globex") == ["g1", "g2"]
    # Each team recorded its own requests only.
    assert acme.request_count("/v1/backup-destinations") == 2
    assert globex.request_count("/v1/backup-destinations") == 2


def test_rate_limits_are_counted_per_team(teams: FakeNorthflankTeams) -> None:
    teams.add_team("tok-small", rate_limit=2).add_destination("d", "D")
    teams.add_team("tok-big").add_destination("d", "D")
    statuses = [_get(teams, "tok-small", "/v1/backup-destinations").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    other = _get(teams, "tok-big", "/v1/backup-destinations")
    assert other.status_code == 200
    assert other.headers["x-ratelimit-remaining"] == "999"


def test_an_unknown_or_revoked_token_is_refused_as_northflank_does(
    teams: FakeNorthflankTeams,
) -> None:
    teams.add_team("tok-acme").add_destination("d", "D")
    teams.add_team("tok-globex").add_destination("d", "D")
    unknown = _get(teams, "tok-nobody", "/v1/backup-destinations")
    assert unknown.status_code == 401
    assert unknown.json()["error"]["status"] == 401
    teams.revoke("tok-acme")
    assert _get(teams, "tok-acme", "/v1/backup-destinations").status_code == 401
    assert _get(teams, "tok-globex", "/v1/backup-destinations").status_code == 200


def test_a_fault_on_one_team_leaves_the_other_alone(teams: FakeNorthflankTeams) -> None:
    failing = teams.add_team("tok-down")
    failing.add_destination("d", "D")
    teams.add_team("tok-up").add_destination("d", "D")
    failing.fail_next("503")
    assert _get(teams, "tok-up", "/v1/backup-destinations").status_code == 200
    assert _get(teams, "tok-down", "/v1/backup-destinations").status_code == 503


async def test_the_bots_own_clients_see_their_own_teams(teams: FakeNorthflankTeams) -> None:
    teams.add_team("tok-acme").add_destination("acme-s3", "Acme")
    teams.add_team("tok-globex", team_id="globex").add_destination("globex-s3", "Globex")
    acme = NorthflankClient(api_token="tok-acme", base_url=teams.url)
    globex = NorthflankClient(api_token="tok-globex", base_url=teams.url, team_id="globex")
    revoked = NorthflankClient(api_token="tok-none", base_url=teams.url)
    try:
        assert [d.id for d in await acme.list_destinations()] == ["acme-s3"]
        assert [d.id for d in await globex.list_destinations()] == ["globex-s3"]
        with pytest.raises(AuthenticationError):
            await revoked.describe_token()
    finally:
        for client in (acme, globex, revoked):
            await client.aclose()


def test_requests_reach_their_team_as_sent(teams: FakeNorthflankTeams) -> None:
    acme = teams.add_team("tok-acme")
    globex = teams.add_team("tok-globex", team_id="globex")
    globex.add_destination("s3", "Globex S3")
    globex.add_addon("proj", "pg")
    headers = {"Authorization": "Bearer tok-globex", "X-Probe": "yes"}

    listing = httpx.get(
        f"{teams.url}/v1/teams/globex/backup-destinations",
        params={"per_page": "5"},
        headers=headers,
    )
    started = httpx.post(
        f"{teams.url}/v1/teams/globex/projects/proj/addons/pg/backups",
        json={"customDestinationId": "s3"},
        headers=headers,
    )

    assert listing.status_code == 200, listing.text
    assert listing.headers["content-type"].startswith("application/json")
    assert started.status_code == 200, started.text
    first, second = globex.requests
    assert (first.method, first.path, first.query) == (
        "GET",
        "/v1/teams/globex/backup-destinations",
        {"per_page": "5"},
    )
    assert first.headers["X-Probe"] == "yes"
    assert first.auth_valid
    assert (second.method, second.json()) == ("POST", {"customDestinationId": "s3"})
    assert [(w.action, w.team_id) for w in globex.writes] == [("start", "globex")]
    assert acme.requests == []
    assert acme.writes == []


def test_exhausting_one_teams_window_leaves_the_others_budget(
    teams: FakeNorthflankTeams,
) -> None:
    small = teams.add_team("tok-small", rate_limit=2)
    teams.add_team("tok-big", rate_limit=50)

    answers = [_get(teams, "tok-small", "/v1/backup-destinations") for _ in range(3)]
    other = _get(teams, "tok-big", "/v1/backup-destinations")

    assert [a.headers["x-ratelimit-remaining"] for a in answers] == ["1", "0", "0"]
    assert answers[2].status_code == 429
    assert int(answers[2].headers["Retry-After"]) >= 1
    assert answers[2].json()["error"]["status"] == 429
    assert other.status_code == 200
    assert (other.headers["x-ratelimit-limit"], other.headers["x-ratelimit-remaining"]) == (
        "50",
        "49",
    )
    small.reset_rate_limit()
    assert _get(teams, "tok-small", "/v1/backup-destinations").status_code == 200


def test_unknown_or_missing_token_is_a_json_401_no_team_sees(teams: FakeNorthflankTeams) -> None:
    acme = teams.add_team("tok-acme")
    missing = httpx.get(f"{teams.url}/v1/backup-destinations")
    unknown = _get(teams, "tok-nobody", "/v1/auth")

    for answer in (missing, unknown):
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/json")
        error = answer.json()["error"]
        assert set(error) == {"status", "message", "id", "details"}
        assert error["status"] == 401
    assert acme.requests == []


def test_a_revoked_token_is_refused_by_its_own_team(teams: FakeNorthflankTeams) -> None:
    acme = teams.add_team("tok-acme")
    teams.add_team("tok-globex")
    assert _get(teams, "tok-acme", "/v1/auth").status_code == 200

    teams.revoke("tok-acme")

    assert _get(teams, "tok-acme", "/v1/auth").status_code == 401
    assert _get(teams, "tok-globex", "/v1/auth").status_code == 200
    assert [r.auth_valid for r in acme.requests] == [True, False]


def test_a_dropped_team_drops_the_clients_connection_only(teams: FakeNorthflankTeams) -> None:
    failing = teams.add_team("tok-down")
    failing.add_destination("d", "D")
    teams.add_team("tok-up").add_destination("d", "D")
    failing.fail_next("dropped")

    with pytest.raises(httpx.RemoteProtocolError):
        _get(teams, "tok-down", "/v1/backup-destinations")
    assert _get(teams, "tok-up", "/v1/backup-destinations").status_code == 200
    assert failing.faults_injected() == {"dropped": 1}
    assert _get(teams, "tok-down", "/v1/backup-destinations").status_code == 200


def test_a_slow_team_times_the_client_out_and_the_other_answers(
    teams: FakeNorthflankTeams,
) -> None:
    slow = teams.add_team("tok-slow", timeout_delay=5.0)
    teams.add_team("tok-fast")
    slow.fail_next("timeout")

    began = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{teams.url}/v1/auth", headers={"Authorization": "Bearer tok-slow"}, timeout=0.3)
    assert time.monotonic() - began < 2.0
    assert _get(teams, "tok-fast", "/v1/auth").status_code == 200


def test_teams_run_while_the_router_runs() -> None:
    router = FakeNorthflankTeams()
    early = router.add_team("tok-early")
    assert not early.running
    with router:
        late = router.add_team("tok-late")
        assert early.running and late.running
        assert _get(router, "tok-early", "/v1/auth").status_code == 200
        assert _get(router, "tok-late", "/v1/auth").status_code == 200
        with pytest.raises(ValueError, match="already exists"):
            router.add_team("tok-late")
    assert not router.running
    assert not early.running and not late.running


async def test_the_sdk_describes_each_token_and_refuses_a_revoked_one(
    teams: FakeNorthflankTeams,
) -> None:
    teams.add_team("tok-acme")
    teams.add_team("tok-globex", team_id="globex")
    async with (
        NorthflankClient(api_token="tok-acme", base_url=teams.url) as acme,
        NorthflankClient(api_token="tok-globex", base_url=teams.url, team_id="globex") as globex,
    ):
        assert "team fake-team" in await acme.describe_token()
        assert "org fake-org" in await globex.describe_token()
        teams.revoke("tok-globex")
        with pytest.raises(AuthenticationError):
            await globex.list_destinations()
        assert await acme.list_destinations() == []
