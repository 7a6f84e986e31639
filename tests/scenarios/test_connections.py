"""Several Northflank teams in one workspace: connect, use, watch, poll, disconnect.

Three teams sit behind one fake Northflank address: the environment's token
(NORTHFLANK_API_TOKEN) and two that admins connect from Slack. Two of them
have a destination with the same id, `s3`, so anything that mixed teams up
would show the wrong backups or alert the wrong channel.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.core.tenancy import SINGLE
from bot.northflank.client import NorthflankClient
from bot.northflank.transport import RetryPolicy
from bot.runtime.logs import RedactingFormatter
from bot.services.connections import ClientFactory
from bot.slack.render.connections import CONNECT_CALLBACK, DISCONNECT_ACTION
from bot.store.encryption import generate_key
from tests.clock import FakeClock
from tests.databases import raw_contents
from tests.fakes.northflank import DEFAULT_TOKEN as ENVIRONMENT_TOKEN
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.northflank_teams import FakeNorthflankTeams
from tests.fakes.slack import FakeSlack
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario, reply_text, running
from tests.slack.requests import sign, slash_command_body, view_submission_body

ACME_TOKEN = "nf-acme-token-7f3a9c1e5b"
GLOBEX_TOKEN = "nf-globex-token-2d8e4f6a0c"
ACME_CHANNEL = "C0ACME"
STRANGER = "U0STRANGER"
FAST = RetryPolicy(attempts=2, base_delay=0.01, max_backoff=0.02, max_wait=1.0)


@dataclass
class Teams(Scenario):
    router: FakeNorthflankTeams = field(default_factory=FakeNorthflankTeams)
    teams: dict[str, FakeNorthflank] = field(default_factory=dict)

    def northflank_for_token(self) -> ClientFactory:
        def build(token: str, team_id: str | None) -> NorthflankClient:
            return NorthflankClient(
                api_token=token, base_url=self.router.url, team_id=team_id, retry_policy=FAST
            )

        return build

    async def connect_form(self, *, user: str = ADMIN) -> str | None:
        """`/backups connect`: None when a modal opened, else the private answer's text."""
        assert self._http is not None
        key = f"connect-{len(self.slack.modals())}-{user}"
        body = slash_command_body(
            "connect", self.slack.response_url(key), user=user, channel=CHANNEL
        )
        ack = await self._http.post(
            f"http://127.0.0.1:{self.bot.port}/slack/events", content=body, headers=sign(body)
        )
        assert ack.status_code == 200, ack.text
        await self.bot.after_ack.drained()
        replies = [r for r in self.slack.responses if r.key == key]
        return reply_text(replies[0].payload) if replies else None

    async def submit(self, values: dict[str, str], *, user: str = ADMIN) -> dict[str, Any]:
        """Submit the connect modal; the JSON the bot acked with (empty: a plain ack)."""
        assert self._http is not None
        body = view_submission_body(
            CONNECT_CALLBACK,
            {"name": "", "token": "", "team": "", **values},
            private_metadata=CHANNEL,
            user=user,
        )
        ack = await self._http.post(
            f"http://127.0.0.1:{self.bot.port}/slack/events", content=body, headers=sign(body)
        )
        assert ack.status_code == 200, ack.text
        return json.loads(ack.text) if ack.text else {}


@pytest.fixture
async def world(fake_slack: FakeSlack, database_url: str) -> AsyncIterator[Teams]:
    with FakeNorthflankTeams() as router:
        environment = router.add_team(ENVIRONMENT_TOKEN)
        acme = router.add_team(ACME_TOKEN)
        globex = router.add_team(GLOBEX_TOKEN)
        environment.add_destination("s3", "Ours")
        acme.add_destination("s3", "Acme S3")
        globex.add_destination("gcs", "Globex GCS")
        globex.add_destination("gcs-eu", "Globex GCS EU")
        scenario = Teams(
            environment,
            fake_slack,
            FakeClock(),
            database_url,
            settings_overrides={
                "northflank_api_base_url": router.url,
                "bot_admins": ADMIN,
                "encryption_key": generate_key(),
            },
            router=router,
            teams={"environment": environment, "acme": acme, "globex": globex},
        )
        async with running(scenario):
            yield scenario


async def _connect(world: Teams, name: str, token: str) -> dict[str, Any]:
    assert await world.connect_form() is None
    return await world.submit({"name": name, "token": token})


async def test_an_admin_connects_a_team_from_a_modal(world: Teams) -> None:
    assert await world.connect_form() is None  # the modal is the answer
    modal = await world.slack.await_modal()
    assert modal["callback_id"] == CONNECT_CALLBACK
    assert modal["private_metadata"] == CHANNEL

    answer = await world.submit({"name": "Acme", "token": ACME_TOKEN})
    assert answer["response_action"] == "update"
    shown = json.dumps(answer["view"])
    assert "Connected" in shown and "`acme`" in shown and "1 backup destination" in shown
    assert ACME_TOKEN not in shown
    assert [c.name for c in await world.bot.store.connections(team=SINGLE)] == ["acme"]
    # Checked before saving: GET /v1/auth, then the destinations.
    assert world.teams["acme"].request_count("/v1/auth") == 1


@pytest.mark.parametrize(
    ("values", "field_name", "says"),
    [
        ({"name": "acme", "token": "nf-wrong-token"}, "token", "did not accept this token"),
        ({"name": "has space", "token": ACME_TOKEN}, "name", "1 to 32 letters"),
        ({"name": "environment", "token": ACME_TOKEN}, "name", "NORTHFLANK_API_TOKEN"),
        ({"name": "acme", "token": ""}, "token", "Paste the API token"),
        ({"name": "acme", "token": ACME_TOKEN, "team": "two words"}, "team", "one word"),
    ],
)
async def test_a_bad_submission_is_shown_on_its_field_and_saves_nothing(
    world: Teams, values: dict[str, str], field_name: str, says: str
) -> None:
    answer = await world.submit(values)
    assert answer["response_action"] == "errors"
    assert says in answer["errors"][field_name]
    assert await world.bot.store.connections(team=SINGLE) == ()


async def test_an_unreachable_api_is_a_field_error_and_saves_nothing(world: Teams) -> None:
    for _ in range(2):  # every attempt of the check's retry policy
        world.teams["acme"].fail_next("503")
    answer = await world.submit({"name": "acme", "token": ACME_TOKEN})
    assert answer["response_action"] == "errors"
    assert "could not be asked just now" in answer["errors"]["token"]
    assert await world.bot.store.connections(team=SINGLE) == ()


async def test_a_name_taken_already_is_refused(world: Teams) -> None:
    await _connect(world, "acme", ACME_TOKEN)
    answer = await world.submit({"name": "ACME", "token": GLOBEX_TOKEN})
    assert answer == {
        "response_action": "errors",
        "errors": {"name": "A connection is called `acme` already."},
    }


async def test_only_admins_may_connect_or_disconnect(world: Teams) -> None:
    reply = await world.connect_form(user=STRANGER)
    assert reply is not None and "Only the bot's admins may connect Northflank" in reply
    assert world.slack.modals() == []
    answer = await world.submit({"name": "acme", "token": ACME_TOKEN}, user=STRANGER)
    assert answer["response_action"] == "update"
    assert "Only the bot's admins" in json.dumps(answer["view"])
    assert await world.bot.store.connections(team=SINGLE) == ()
    await _connect(world, "acme", ACME_TOKEN)
    assert "Only the bot's admins" in await world.slash("disconnect acme", user=STRANGER)
    assert len(await world.bot.store.connections(team=SINGLE)) == 1


async def test_each_channel_lists_through_its_own_connection(world: Teams) -> None:
    world.teams["environment"].add_backups("s3", [make_backup("ours-1")])
    world.teams["acme"].add_backups("s3", [make_backup("acme-1"), make_backup("acme-2")])
    await _connect(world, "acme", ACME_TOKEN)
    await _connect(world, "globex", GLOBEX_TOKEN)
    await world.slash("use globex", channel="C0GLOBEX")
    reply = await world.slash("use acme", channel=ACME_CHANNEL)
    assert "now uses `acme`" in reply

    acme_listing = await world.slash("list s3", channel=ACME_CHANNEL)
    ours = await world.slash("list s3")
    assert "acme-1" in acme_listing and "ours-1" not in acme_listing
    assert "ours-1" in ours and "acme-1" not in ours
    assert "Globex GCS" in await world.slash("destinations", channel="C0GLOBEX")
    assert "Ours" not in await world.slash("destinations", channel=ACME_CHANNEL)
    # A destination of another team is not found through this channel's connection.
    assert "can't find" in await world.slash("list gcs", channel=ACME_CHANNEL)

    listed = await world.slash("connections", channel=ACME_CHANNEL)
    assert "`acme`" in listed and "this channel" in listed and "`globex`" in listed
    assert "`environment` (NORTHFLANK_API_TOKEN)" in listed
    assert ACME_TOKEN not in listed and GLOBEX_TOKEN not in listed


async def test_watches_poll_each_team_and_alert_only_their_channel(world: Teams) -> None:
    await _connect(world, "acme", ACME_TOKEN)
    await world.slash("use acme", channel=ACME_CHANNEL)
    assert "now watches" in await world.slash("watch s3", channel=ACME_CHANNEL)
    assert "now watches" in await world.slash("watch s3")
    keys = {w.destination_id for w in await world.bot.store.all_watches(team=SINGLE)}
    assert keys == {"s3", "s3@1"}

    world.clock.advance(minutes=5)
    world.teams["acme"].add_backups(
        "s3", [make_backup("acme-broken", status="failed", created_at=world.clock.now())]
    )
    before = world.teams["environment"].request_count("/v1/backup-destinations/s3/backups")
    await world.poll()
    assert world.teams["environment"].request_count("/v1/backup-destinations/s3/backups") > before
    acme_alerts = world.alerts_posted(ACME_CHANNEL)
    assert len(acme_alerts) == 2  # the watch's announcement, then the failure
    assert "acme-broken" in json.dumps(acme_alerts[-1])
    assert "s3@1" not in json.dumps(acme_alerts)  # people see Northflank's id
    assert all("acme-broken" not in json.dumps(m) for m in world.alerts_posted(CHANNEL))


async def test_one_teams_exhausted_budget_does_not_hold_back_anothers_polls(
    world: Teams,
) -> None:
    await _connect(world, "acme", ACME_TOKEN)
    await world.slash("use acme", channel=ACME_CHANNEL)
    await world.slash("watch s3", channel=ACME_CHANNEL)
    await world.slash("watch s3")
    # Acme's token has a handful of requests left in a long window; ours has plenty.
    world.teams["acme"].reset_rate_limit(remaining=1)
    world.clock.advance(minutes=5)
    await world.poll()  # Acme's one request left is spent; its reading now says 0
    acme_before = world.teams["acme"].request_count("/v1/backup-destinations/s3/backups")
    ours_before = world.teams["environment"].request_count("/v1/backup-destinations/s3/backups")
    world.clock.advance(minutes=5)
    report = await world.poll()
    assert world.teams["environment"].request_count("/v1/backup-destinations/s3/backups") == (
        ours_before + 1
    )
    assert world.teams["acme"].request_count("/v1/backup-destinations/s3/backups") == acme_before
    assert report.skipped == ["s3@1"]


async def test_a_revoked_token_alerts_the_channels_that_use_it(world: Teams) -> None:
    await _connect(world, "acme", ACME_TOKEN)
    await world.slash("use acme", channel=ACME_CHANNEL)
    await world.slash("watch s3", channel=ACME_CHANNEL)
    await world.slash("watch s3")
    world.router.revoke(ACME_TOKEN)
    for _ in range(3):
        world.clock.advance(minutes=5)
        await world.poll()
    problem = json.dumps(world.alerts_posted(ACME_CHANNEL)[-1])
    assert "Northflank" in problem and ("token" in problem or "401" in problem)
    assert len(world.alerts_posted(CHANNEL)) == 1  # only its own watch's announcement


async def test_disconnecting_asks_first_then_stops_its_watches_and_tells_the_channel(
    world: Teams,
) -> None:
    await _connect(world, "acme", ACME_TOKEN)
    await world.slash("use acme", channel=ACME_CHANNEL)
    await world.slash("watch s3", channel=ACME_CHANNEL)
    await world.slash("watch s3")
    asked = await world.slash("disconnect acme")
    assert "Disconnect `acme`?" in asked
    assert len(await world.bot.store.connections(team=SINGLE)) == 1  # nothing yet: a button decides

    done = await world.press(DISCONNECT_ACTION, "acme")
    assert done is not None and "1 watch stopped" in done
    assert await world.bot.store.connections(team=SINGLE) == ()
    assert [w.destination_id for w in await world.bot.store.all_watches(team=SINGLE)] == ["s3"]
    await world.deliver()
    told = json.dumps(world.alerts_posted(ACME_CHANNEL)[-1])
    assert "disconnected the Northflank connection" in told and "Acme S3" in told
    # The channel's choice went with it: with no stored connection, the environment's token.
    assert "Ours" in await world.slash("destinations", channel=ACME_CHANNEL)
    assert "no connection called" in (await world.press(DISCONNECT_ACTION, "acme") or "")


async def test_tokens_rest_encrypted_in_the_database(world: Teams, database_url: str) -> None:
    await _connect(world, "acme", ACME_TOKEN)
    await _connect(world, "globex", GLOBEX_TOKEN)
    assert len(await world.bot.store.connections(team=SINGLE)) == 2
    # The raw SQLite file, or a pg_dump: what a stolen backup of the database shows.
    contents = raw_contents(database_url)
    assert b"acme" in contents  # the dump is real: the connection's name is in it
    for token in (ACME_TOKEN, GLOBEX_TOKEN, ENVIRONMENT_TOKEN):
        assert token.encode() not in contents


async def test_a_missing_key_with_tokens_stored_stops_start_up(world: Teams) -> None:
    await _connect(world, "acme", ACME_TOKEN)
    await world.stop()
    world.settings_overrides["encryption_key"] = None
    with pytest.raises(Exception, match="ENCRYPTION_KEY") as caught:
        await world.start()
    assert ACME_TOKEN not in str(caught.value)
    await world.stop()
    world.settings_overrides["encryption_key"] = generate_key()
    with pytest.raises(Exception, match="ENCRYPTION_KEY"):
        await world.start()
    await world.stop()


async def test_the_single_team_path_makes_no_extra_request(world: Teams) -> None:
    # Nothing connected: the environment's token answers, as it always did.
    reply = await world.slash("destinations")
    assert "Ours" in reply
    assert world.teams["acme"].requests == [] and world.teams["globex"].requests == []


async def test_a_connections_token_never_reaches_a_log_line_or_slack(world: Teams) -> None:
    # The bot's own formatter, at DEBUG, as `run` configures it: httpx, the SDK and
    # Bolt log everything they log.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        await world.submit({"name": "typo", "token": ACME_TOKEN + "-wrong"})
        await _connect(world, "acme", ACME_TOKEN)
        await world.slash("use acme", channel=ACME_CHANNEL)
        await world.slash("watch s3", channel=ACME_CHANNEL)
        world.router.revoke(ACME_TOKEN)
        for _ in range(3):
            world.clock.advance(minutes=5)
            await world.poll()
        await world.slash("connections", channel=ACME_CHANNEL)
        await world.slash("list s3", channel=ACME_CHANNEL)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    logged = stream.getvalue()
    assert "s3" in logged  # the log is real: the poll of s3 is in it
    said_in_slack = json.dumps(
        [c.params for c in world.slack.calls] + [r.payload for r in world.slack.responses]
    )
    for text in (logged, said_in_slack):
        assert ACME_TOKEN not in text
        assert "7f3a9c1e5b" not in text  # nor its distinctive part alone
