"""A distributable app: two Slack workspaces install it, each connects its own Northflank team.

End to end over real HTTP: Bolt's OAuth flow against the fake Slack's
oauth.v2.access, slash commands, modal submissions, buttons and events
signed for each workspace, polls against a fake Northflank holding both
teams, and delivery with each workspace's own bot token. Then the ways one
tenant could reach another, each of which must meet a clear, inert answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.core.tenancy import channel_key
from bot.runtime.server import BotServer
from bot.runtime.settings import DistributedBotSettings, load
from bot.slack.render.alert_buttons import ACKNOWLEDGE_ACTION
from bot.slack.render.connections import CONNECT_CALLBACK
from bot.slack.render.home import HOME_REPORT_ACTION
from bot.store.encryption import generate_key
from tests.clock import FakeClock
from tests.databases import raw_contents
from tests.fakes.northflank import DEFAULT_TOKEN as OPERATOR_TOKEN
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.northflank_teams import FakeNorthflankTeams
from tests.fakes.slack import FakeSlack
from tests.scenarios.conftest import reply_text
from tests.slack.requests import (
    SIGNING_SECRET,
    button_body,
    event_body,
    home_button_body,
    home_opened_body,
    sign,
    slash_command_body,
    view_submission_body,
)

ACME, GLOBEX = "T0ACME", "T0GLOBEX"
BOT_TOKENS = {ACME: "xoxb-acme-bot-token-1111", GLOBEX: "xoxb-globex-bot-token-2222"}
NF_TOKENS = {ACME: "nf-acme-team-token-3333", GLOBEX: "nf-globex-team-token-4444"}
CHANNELS = {ACME: "C0ACMEOPS", GLOBEX: "C0GLOBEXOPS"}
ADMIN = "U0ADMIN"
_keys = itertools.count()


@dataclass
class World:
    slack: FakeSlack
    teams: dict[str, FakeNorthflank]
    router: FakeNorthflankTeams
    clock: FakeClock
    server: BotServer
    http: httpx.AsyncClient

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/slack/events"

    async def install(self, team: str, *, rotating: bool = False) -> httpx.Response:
        """Bolt's OAuth flow, as a browser runs it: the install page, then the redirect."""
        page = await self.http.get(f"http://127.0.0.1:{self.server.port}/slack/install")
        assert page.status_code == 200, page.text
        state = page.cookies.get("slack-app-oauth-state") or _state_of(page)
        code = f"code-{team}-{next(_keys)}"
        self.slack.add_installation_code(
            code, team_id=team, bot_token=BOT_TOKENS[team], rotating=rotating, installer=ADMIN
        )
        # The cookie is Secure; over plain http a test sends it back by hand.
        return await self.http.get(
            f"http://127.0.0.1:{self.server.port}/slack/oauth_redirect",
            params={"code": code, "state": state},
            headers={"Cookie": f"slack-app-oauth-state={state}"},
        )

    async def post(self, body: str, *, json_body: bool = False) -> httpx.Response:
        headers = sign(body)
        if json_body:
            headers["Content-Type"] = "application/json"
        answer = await self.http.post(self.events_url, content=body, headers=headers)
        assert answer.status_code == 200, answer.text
        await self.server.after_ack.drained()
        return answer

    async def slash(
        self, team: str, text: str, *, channel: str | None = None, user: str = ADMIN
    ) -> str:
        key = f"ws-{next(_keys)}"
        body = slash_command_body(
            text,
            self.slack.response_url(key),
            user=user,
            channel=channel or CHANNELS[team],
            team=team,
        )
        await self.post(body)
        for _ in range(500):
            replies = [r for r in self.slack.responses if r.key == key]
            if replies:
                return reply_text(replies[0].payload)
            await asyncio.sleep(0.01)
        return ""

    async def connect(self, team: str, name: str) -> dict[str, Any]:
        body = view_submission_body(
            CONNECT_CALLBACK,
            {"name": name, "token": NF_TOKENS[team], "team": ""},
            private_metadata=CHANNELS[team],
            user=ADMIN,
            team=team,
        )
        answer = await self.post(body)
        return json.loads(answer.text) if answer.text else {}

    async def press(self, team: str, action: str, value: str, *, channel: str) -> str | None:
        key = f"ws-{next(_keys)}"
        body = button_body(
            action,
            value,
            self.slack.response_url(key),
            user=ADMIN,
            channel=channel,
            team=team,
            block_id=f"alert_actions:{value}",
        )
        await self.post(body)
        replies = [r for r in self.slack.responses if r.key == key]
        return reply_text(replies[0].payload) if replies else None

    async def event(self, team: str, event: dict[str, Any]) -> None:
        """An Events API callback. Bolt runs event listeners after it acks, so this waits
        until the bot has finished with it (its Bolt task is done)."""
        before = {t for t in asyncio.all_tasks() if not t.done()}
        await self.post(event_body(event, team=team), json_body=True)
        for _ in range(500):
            running = {t for t in asyncio.all_tasks() if not t.done()} - before
            if running <= {asyncio.current_task()}:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the event's listener did not finish")

    async def poll(self) -> None:
        await self.server.poller.poll_all()
        await self.server.delivery.drain()


def _state_of(page: httpx.Response) -> str:
    found = re.search(r"state=([\w-]+)", page.text)
    assert found is not None, page.text
    return found.group(1)


@pytest.fixture
async def world(fake_slack: FakeSlack, database_url: str) -> AsyncIterator[World]:
    with FakeNorthflankTeams() as router:
        router.add_team(OPERATOR_TOKEN)
        teams = {team: router.add_team(NF_TOKENS[team]) for team in (ACME, GLOBEX)}
        # The same destination id in both teams.
        teams[ACME].add_destination("s3", "Acme S3")
        teams[GLOBEX].add_destination("s3", "Globex S3")
        client_id, client_secret = fake_slack.oauth_client
        settings = load(
            DistributedBotSettings,
            _env_file=None,
            slack_client_id=client_id,
            slack_client_secret=client_secret,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake_slack.api_url,
            northflank_api_token=OPERATOR_TOKEN,
            northflank_api_base_url=router.url,
            database_url=database_url,
            encryption_key=generate_key(),
            bot_admins=ADMIN,
            port=0,
            poll_interval=60,
        )
        clock = FakeClock()
        server = BotServer(
            settings,
            host="127.0.0.1",
            clock=clock.now,
            schedule_polls=False,
            background_delivery=False,
            pace_per_channel=0.0,
        )
        await server.start()
        try:
            async with httpx.AsyncClient(timeout=10.0) as http:
                yield World(fake_slack, teams, router, clock, server, http)
        finally:
            await server.stop()


async def _both_watching(world: World) -> None:
    for team, name in ((ACME, "acme"), (GLOBEX, "globex")):
        assert (await world.install(team)).status_code == 200
        answer = await world.connect(team, name)
        assert answer.get("response_action") == "update", answer
        assert "now watches" in await world.slash(team, "watch s3")


async def test_two_workspaces_install_connect_and_watch_only_their_own(world: World) -> None:
    await _both_watching(world)
    listed = {team: await world.slash(team, "destinations") for team in (ACME, GLOBEX)}
    assert "Acme S3" in listed[ACME] and "Globex S3" not in listed[ACME]
    assert "Globex S3" in listed[GLOBEX] and "Acme S3" not in listed[GLOBEX]
    # Each workspace's connection is its own: the other's is not even listed.
    assert "`globex`" not in await world.slash(ACME, "connections")

    world.clock.advance(minutes=5)
    world.teams[ACME].add_backups(
        "s3", [make_backup("acme-broken", status="failed", created_at=world.clock.now())]
    )
    await world.poll()
    acme_posts = world.slack.posted_with(BOT_TOKENS[ACME])
    globex_posts = world.slack.posted_with(BOT_TOKENS[GLOBEX])
    assert any("acme-broken" in json.dumps(p) for p in acme_posts)
    assert {p["channel"] for p in acme_posts} == {CHANNELS[ACME]}
    assert {p["channel"] for p in globex_posts} == {CHANNELS[GLOBEX]}
    assert all("acme-broken" not in json.dumps(p) for p in globex_posts)


async def test_uninstalling_one_workspace_leaves_the_other_untouched(world: World) -> None:
    await _both_watching(world)
    await world.event(ACME, {"type": "app_uninstalled"})
    store = world.server.store
    assert await store.all_watches(team=ACME) == []
    assert await store.connections(team=ACME) == ()
    assert len(await store.all_watches(team=GLOBEX)) == 1
    assert [c.name for c in await store.connections(team=GLOBEX)] == ["globex"]
    entries = await store.audit_entries(channel_key(ACME, ""))
    assert [e.action.value for e in entries] == ["uninstall"]
    # Globex's alerts still go out, with Globex's token.
    world.clock.advance(minutes=5)
    world.teams[GLOBEX].add_backups(
        "s3", [make_backup("globex-broken", status="failed", created_at=world.clock.now())]
    )
    await world.poll()
    assert any(
        "globex-broken" in json.dumps(p) for p in world.slack.posted_with(BOT_TOKENS[GLOBEX])
    )


async def test_revoking_the_bots_token_removes_the_workspace_too(world: World) -> None:
    await _both_watching(world)
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOTT0GLOBEX"]}}
    await world.event(GLOBEX, revoked)
    assert await world.server.store.all_watches(team=GLOBEX) == []
    assert len(await world.server.store.all_watches(team=ACME)) == 1


async def test_workspace_tokens_rest_encrypted(world: World, database_url: str) -> None:
    await _both_watching(world)
    contents = raw_contents(database_url)
    assert ACME.encode() in contents  # the dump is real: the installation's team is in it
    for token in (*BOT_TOKENS.values(), *NF_TOKENS.values()):
        assert token.encode() not in contents


async def test_a_rotating_token_is_refreshed_before_it_expires_and_kept_encrypted(
    world: World, database_url: str
) -> None:
    assert (await world.install(ACME, rotating=True)).status_code == 200
    await world.connect(ACME, "acme")
    await world.slash(ACME, "watch s3")
    installs = world.server.installs
    assert installs is not None
    bot = await installs.store.async_find_bot(enterprise_id=None, team_id=ACME)
    assert bot is not None and bot.bot_refresh_token
    # Slack's 12 hours are nearly over.
    bot.bot_token_expires_at = int(time.time()) + 60
    await installs.store.async_save_bot(bot)
    world.clock.advance(minutes=5)
    world.teams[ACME].add_backups(
        "s3", [make_backup("acme-broken", status="failed", created_at=world.clock.now())]
    )
    await world.poll()
    rotated = await installs.store.async_find_bot(enterprise_id=None, team_id=ACME)
    assert rotated is not None and rotated.bot_token is not None
    assert rotated.bot_token.startswith("xoxe.xoxb-rotated-")
    assert any("acme-broken" in json.dumps(p) for p in world.slack.posted_with(rotated.bot_token))
    assert rotated.bot_token.encode() not in raw_contents(database_url)


async def test_the_installer_is_the_first_admin_and_names_the_others(world: World) -> None:
    await _both_watching(world)
    helper = "U0HELPER"
    refused = await world.slash(ACME, "unwatch s3", user=helper)
    assert "admin" in refused and "<@U0ADMIN>" in refused
    assert "The admins: <@U0ADMIN>" in await world.slash(ACME, "admins", user=helper)
    assert "Only an admin may change" in await world.slash(
        ACME, f"admins add <@{helper}|helper>", user=helper
    )
    assert "is an admin now" in await world.slash(ACME, f"admins add <@{helper}|helper>")
    # Acme's admins are Acme's: Globex's installer is not one, and the helper is not Globex's.
    assert "<@U0HELPER>" not in await world.slash(GLOBEX, "admins")
    assert "no longer watches" in await world.slash(ACME, "unwatch s3", user=helper)
    assert "is no longer an admin" in await world.slash(ACME, f"admins remove {helper}")
    assert "without an admin" in await world.slash(ACME, "admins remove U0ADMIN")
    assert "Usage" in await world.slash(ACME, "admins add @helper")
    # The installer, once removed, stays removed when the app is installed again (or its
    # token rotated: Bolt saves the installation again either way).
    await world.slash(ACME, f"admins add {helper}")
    assert "is no longer an admin" in await world.slash(ACME, "admins remove U0ADMIN", user=helper)
    assert (await world.install(ACME)).status_code == 200
    assert "<@U0ADMIN>" not in await world.slash(ACME, "admins", user=helper)


# ----- every way across the boundary, each answered inertly ---------------------------------


async def test_a_request_signed_for_another_workspace_cannot_see_or_change_a_channel(
    world: World,
) -> None:
    await _both_watching(world)
    # Globex names Acme's channel: it sees an empty channel of its own, and changes nothing.
    watching = await world.slash(GLOBEX, "watching", channel=CHANNELS[ACME])
    assert "Acme S3" not in watching
    assert "doesn't watch `s3`" in (await world.slash(GLOBEX, "unwatch s3", channel=CHANNELS[ACME]))
    assert len(await world.server.store.all_watches(team=ACME)) == 1


async def test_a_button_copied_from_another_workspaces_message_does_nothing(
    world: World,
) -> None:
    await _both_watching(world)
    world.clock.advance(minutes=5)
    world.teams[ACME].add_backups(
        "s3", [make_backup("acme-broken", status="failed", created_at=world.clock.now())]
    )
    await world.poll()
    (problem,) = [a for a in (await world.server.store.open_problems(team=ACME, limit=5))[0]]
    value = str(problem.id)
    # Pressed in Globex's workspace, in Globex's channel and in Acme's channel id alike.
    for channel in (CHANNELS[GLOBEX], CHANNELS[ACME]):
        answer = await world.press(GLOBEX, ACKNOWLEDGE_ACTION, value, channel=channel)
        assert answer is not None and "can't find that alert" in answer
    stored = await world.server.store.alert(problem.id)
    assert stored is not None and stored.acknowledged_by is None


async def test_a_destination_of_another_connection_is_not_found(world: World) -> None:
    await _both_watching(world)
    acme_key = (await world.server.store.all_watches(team=ACME))[0].destination_id
    for text in (f"list {acme_key}", f"watch {acme_key}", f"report {acme_key}"):
        answer = await world.slash(GLOBEX, text)
        assert "Acme" not in answer and ("can't find" in answer or "isn't" in answer), answer


async def test_the_home_tab_and_its_report_show_only_the_workspace_asking(world: World) -> None:
    await _both_watching(world)
    await world.post(home_opened_body(ADMIN, team=GLOBEX), json_body=True)
    view = await world.slack.await_home_view(ADMIN)
    assert "Globex S3" in json.dumps(view) and "Acme S3" not in json.dumps(view)
    acme_key = (await world.server.store.all_watches(team=ACME))[0].destination_id
    await world.post(home_button_body(HOME_REPORT_ACTION, acme_key, user=ADMIN, team=GLOBEX))
    assert world.slack.files() == []  # no report of Acme's destination went anywhere


async def test_an_outbox_row_of_an_uninstalled_workspace_is_never_posted(world: World) -> None:
    await _both_watching(world)
    world.clock.advance(minutes=5)
    for team in (ACME, GLOBEX):
        world.teams[team].add_backups(
            "s3", [make_backup(f"{team}-broken", status="failed", created_at=world.clock.now())]
        )
    await world.server.poller.poll_all()  # queued, not yet sent
    # The installation vanishes without the event (lost, or removed by hand).
    assert world.server.installs is not None
    await world.server.installs.store.async_delete_all(enterprise_id=None, team_id=ACME)
    before = len(world.slack.posted_with(BOT_TOKENS[ACME]))
    await world.server.delivery.drain()
    assert len(world.slack.posted_with(BOT_TOKENS[ACME])) == before
    assert any(
        f"{GLOBEX}-broken" in json.dumps(p) for p in world.slack.posted_with(BOT_TOKENS[GLOBEX])
    )
    failed = [i for i in await world.server.store.outbox_items() if i.state == "failed"]
    assert {i.channel for i in failed} == {channel_key(ACME, CHANNELS[ACME])}
