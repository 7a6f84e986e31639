"""FakeSlack's modals, OAuth installs and per-workspace tokens, through slack_sdk as the bot
calls them; and the signed request bodies of tests/slack/requests.py, through Bolt."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import APP_ID, DEFAULT_TOKEN, FakeSlack
from tests.slack.requests import (
    SIGNING_SECRET,
    button_body,
    event_body,
    home_opened_body,
    sign,
    slash_command_body,
    view_submission_body,
)

ACME, ACME_TOKEN = "T0ACME", "xoxb-acme-token"


@pytest.fixture
def client(fake_slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake_slack.api_url)


def modal(text: str = "Connect", **fields: Any) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "connect",
        "title": {"type": "plain_text", "text": text},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        **fields,
    }


async def error_of(call: Any) -> str:
    """The Slack error a slack_sdk call raised."""
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


async def install(fake: FakeSlack, *, code: str = "code-acme", **options: Any) -> dict[str, Any]:
    """Run the code exchange for workspace ACME as Bolt's OAuth flow does; the answer."""
    fake.add_installation_code(
        code, team_id=ACME, team_name="Acme", bot_token=ACME_TOKEN, **options
    )
    client_id, client_secret = fake.oauth_client
    oauth = AsyncWebClient(base_url=fake.api_url)
    answer = await oauth.oauth_v2_access(
        client_id=client_id,
        client_secret=client_secret,
        code=code,
        redirect_uri=options.get("redirect_uri"),
    )
    assert isinstance(answer.data, dict)
    return answer.data


# ----- views.open and views.update --------------------------------------------------------


async def test_views_open_answers_the_modal_with_an_id_and_records_the_token(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await client.views_open(trigger_id="1.1.a", view=modal(private_metadata="C1"))

    view = answer["view"]
    assert view["id"] == "VM0000001"
    assert view["type"] == "modal" and view["callback_id"] == "connect"
    assert view["title"] == {"type": "plain_text", "text": "Connect"}
    assert view["blocks"] == modal()["blocks"]
    assert view["private_metadata"] == "C1"
    assert view["team_id"] == view["app_installed_team_id"] == "T0FAKE"
    assert view["state"] == {"values": {}}
    assert view["app_id"] == APP_ID and view["root_view_id"] == "VM0000001"
    assert isinstance(view["hash"], str) and view["hash"]
    assert fake_slack.modals() == [view]
    [call] = fake_slack.calls_to("views.open")
    assert call.token == DEFAULT_TOKEN
    assert call.content_type.startswith("application/json")
    assert call.params["trigger_id"] == "1.1.a"


async def test_views_open_refuses_expired_reused_and_blank_triggers_and_non_modals(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    fake_slack.expire_trigger("1.1.old")
    await client.views_open(trigger_id="1.1.a", view=modal())

    no_title = {k: v for k, v in modal().items() if k != "title"}
    errors = [
        await error_of(client.views_open(trigger_id="1.1.old", view=modal())),
        await error_of(client.views_open(trigger_id="1.1.a", view=modal())),
        await error_of(client.views_open(trigger_id="", view=modal())),
        await error_of(client.views_open(trigger_id="  ", view=modal())),
        await error_of(client.api_call("views.open", json={"view": modal()})),
        await error_of(client.views_open(trigger_id="1.1.b", view={**modal(), "type": "home"})),
        await error_of(client.views_open(trigger_id="1.1.c", view=no_title)),
        await error_of(client.views_open(trigger_id="1.1.d", view={**modal(), "blocks": None})),
    ]

    assert errors == [
        "expired_trigger_id",
        "exchanged_trigger_id",
        *["invalid_arguments"] * 6,
    ]
    assert [view["id"] for view in fake_slack.modals()] == ["VM0000001"]
    # A refused trigger was not used up.
    await client.views_open(trigger_id="1.1.b", view=modal())
    assert len(fake_slack.modals()) == 2


async def test_await_modal_waits_for_the_next_one(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    async def bot() -> None:
        await asyncio.sleep(0.1)
        await client.views_open(trigger_id="1.1.a", view=modal("first"))

    task = asyncio.create_task(bot())
    opened = await fake_slack.await_modal(5.0)
    await task

    assert opened["title"]["text"] == "first"
    with pytest.raises(TimeoutError):
        await fake_slack.await_modal(0.1, n=2)


async def test_views_update_by_id_or_external_id_checks_the_hash(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    opened = (await client.views_open(trigger_id="1.1.a", view=modal(external_id="ext-1")))["view"]

    stale = await error_of(
        client.views_update(view_id=opened["id"], view=modal("checking"), hash="1.stale")
    )
    checking = await client.views_update(
        view_id=opened["id"], view=modal("checking"), hash=opened["hash"]
    )
    done = await client.views_update(external_id="ext-1", view=modal("done"))

    assert stale == "hash_conflict"
    assert checking["view"]["id"] == done["view"]["id"] == opened["id"]
    assert checking["view"]["title"]["text"] == "checking"
    assert checking["view"]["hash"] != opened["hash"]
    assert fake_slack.modals() == [done["view"]]
    assert fake_slack.modals()[0]["blocks"][0]["text"]["text"] == "done"
    errors = [
        await error_of(client.views_update(view_id="VM9999999", view=modal())),
        await error_of(client.views_update(external_id="nope", view=modal())),
        await error_of(client.api_call("views.update", json={"view": modal()})),
        await error_of(client.views_update(view_id=opened["id"], view={"type": "modal"})),
    ]
    assert errors == ["not_found", "not_found", "invalid_arguments", "invalid_arguments"]


async def test_modals_belong_to_the_workspace_whose_token_opened_them(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    await install(fake_slack)
    acme = AsyncWebClient(token=ACME_TOKEN, base_url=fake_slack.api_url)

    opened = (await acme.views_open(trigger_id="1.1.a", view=modal(external_id="form")))["view"]
    # The same external id in another workspace is another view; in the same, refused.
    await client.views_open(trigger_id="1.1.b", view=modal(external_id="form"))
    duplicate = await error_of(acme.views_open(trigger_id="1.1.c", view=modal(external_id="form")))
    elsewhere = await error_of(client.views_update(view_id=opened["id"], view=modal("x")))
    updated = await acme.views_update(view_id=opened["id"], view=modal("checked"))

    assert opened["team_id"] == opened["app_installed_team_id"] == ACME
    assert duplicate == "duplicate_external_id"
    assert elsewhere == "not_found"
    assert updated["view"]["team_id"] == ACME
    assert [call.token for call in fake_slack.calls_to("views.open")] == [
        ACME_TOKEN,
        DEFAULT_TOKEN,
        ACME_TOKEN,
    ]
    assert [view["team_id"] for view in fake_slack.modals()] == [ACME, "T0FAKE"]


# ----- oauth.v2.access and tokens per workspace --------------------------------------------


async def test_oauth_v2_access_installs_a_workspace_once_per_code(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    answer = await install(fake_slack, installer="U0ADMIN")

    assert answer == {
        "ok": True,
        "app_id": APP_ID,
        "authed_user": {"id": "U0ADMIN"},
        "scope": "commands,chat:write,chat:write.public,channels:join,files:write,im:write",
        "token_type": "bot",
        "access_token": ACME_TOKEN,
        "bot_user_id": "U0BOTT0ACME",
        "team": {"id": ACME, "name": "Acme"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    [call] = fake_slack.calls_to("oauth.v2.access")
    # slack_sdk sends the client credentials as HTTP Basic auth, the code as a form.
    assert call.content_type.startswith("application/x-www-form-urlencoded")
    assert "Authorization" not in call.headers
    assert call.params["code"] == "code-acme" and call.token is None
    client_id, client_secret = fake_slack.oauth_client
    again = await error_of(
        client.oauth_v2_access(client_id=client_id, client_secret=client_secret, code="code-acme")
    )
    assert again == "invalid_code"
    acme = AsyncWebClient(token=ACME_TOKEN, base_url=fake_slack.api_url)
    mine, theirs = await client.auth_test(), await acme.auth_test()
    assert (mine["team_id"], mine["user_id"]) == ("T0FAKE", "UBOT")
    assert (theirs["team_id"], theirs["user_id"], theirs["team"]) == (ACME, "U0BOTT0ACME", "Acme")


def test_oauth_v2_access_takes_the_credentials_as_form_fields_too(fake_slack: FakeSlack) -> None:
    fake_slack.add_installation_code("c1", team_id=ACME, bot_token=ACME_TOKEN)
    client_id, client_secret = fake_slack.oauth_client
    form = {"client_id": client_id, "client_secret": client_secret, "code": "c1"}

    answer = httpx.post(f"{fake_slack.api_url}oauth.v2.access", data=form).json()

    assert answer["ok"] is True and answer["access_token"] == ACME_TOKEN


async def test_oauth_v2_access_refuses_wrong_credentials_codes_and_redirects(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    redirect = "https://bot.example/slack/oauth_redirect"
    fake_slack.add_installation_code(
        "c1", team_id=ACME, bot_token=ACME_TOKEN, redirect_uri=redirect
    )
    client_id, client_secret = fake_slack.oauth_client

    def access(**fields: Any) -> Any:
        arguments = {"client_id": client_id, "client_secret": client_secret, "code": "c1"}
        return client.oauth_v2_access(**(arguments | fields))

    errors = [
        await error_of(access(client_id="C0OTHER", redirect_uri=redirect)),
        await error_of(access(client_secret="wrong", redirect_uri=redirect)),
        await error_of(access(code="c2", redirect_uri=redirect)),
        await error_of(access(grant_type="password", redirect_uri=redirect)),
        await error_of(access(redirect_uri="https://elsewhere.example/")),
        await error_of(access()),
    ]
    # None of these used the code up.
    installed = await access(redirect_uri=redirect)

    assert errors == [
        "invalid_client_id",
        "bad_client_secret",
        "invalid_code",
        "invalid_grant_type",
        "bad_redirect_uri",
        "bad_redirect_uri",
    ]
    assert installed["access_token"] == ACME_TOKEN


async def test_a_refresh_token_gives_a_new_token_once(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    installed = await install(fake_slack, refresh_token="xoxe-1-first", expires_in=600)
    client_id, client_secret = fake_slack.oauth_client

    def refresh(token: str) -> Any:
        return client.oauth_v2_access(
            client_id=client_id,
            client_secret=client_secret,
            grant_type="refresh_token",
            refresh_token=token,
        )

    rotated = await refresh("xoxe-1-first")
    reused = await error_of(refresh("xoxe-1-first"))
    again = await refresh(rotated["refresh_token"])

    assert (installed["refresh_token"], installed["expires_in"]) == ("xoxe-1-first", 600)
    assert rotated["access_token"] not in (ACME_TOKEN, again["access_token"])
    assert rotated["refresh_token"] not in ("xoxe-1-first", again["refresh_token"])
    assert rotated["expires_in"] == 600
    assert rotated["team"] == {"id": ACME, "name": "Acme"}
    assert rotated["token_type"] == "bot"
    assert reused == "invalid_refresh_token"
    assert fake_slack.rotated_tokens() == [rotated["access_token"], again["access_token"]]
    # Each token answers for its workspace; the old ones until they expire, as on Slack.
    for token in (ACME_TOKEN, rotated["access_token"], again["access_token"]):
        who = await AsyncWebClient(token=token, base_url=fake_slack.api_url).auth_test()
        assert who["team_id"] == ACME


async def test_rotating_installs_without_a_given_refresh_token_get_one(
    fake_slack: FakeSlack,
) -> None:
    plain = await install(fake_slack, code="c1")
    rotating = await install(fake_slack, code="c2", rotating=True)

    assert "refresh_token" not in plain and "expires_in" not in plain
    assert rotating["refresh_token"].startswith("xoxe-1-")
    assert rotating["expires_in"] == 43200


async def test_an_enterprise_install_names_its_organisation(fake_slack: FakeSlack) -> None:
    answer = await install(fake_slack, enterprise_id="E0ORG", bot_user_id="U0ACMEBOT")
    who = await AsyncWebClient(token=ACME_TOKEN, base_url=fake_slack.api_url).auth_test()

    assert answer["enterprise"] == {"id": "E0ORG"}
    assert answer["bot_user_id"] == who["user_id"] == "U0ACMEBOT"
    assert who["enterprise_id"] == "E0ORG"


async def test_each_post_records_its_token_and_a_revoked_token_stops_working(
    fake_slack: FakeSlack, client: AsyncWebClient
) -> None:
    acme = AsyncWebClient(token=ACME_TOKEN, base_url=fake_slack.api_url)
    before = await error_of(acme.chat_postMessage(channel="C1", text="too early"))
    await install(fake_slack)

    await acme.chat_postMessage(channel="C1", text="from acme")
    await client.chat_postMessage(channel="C1", text="from us")
    socket = await error_of(acme.apps_connections_open(app_token=ACME_TOKEN))
    fake_slack.revoke_token(ACME_TOKEN)
    revoked = await error_of(acme.chat_postMessage(channel="C1", text="after"))

    assert before == "invalid_auth"
    assert socket == "not_allowed_token_type"
    assert revoked == "token_revoked"
    assert [p["text"] for p in fake_slack.posted_with(DEFAULT_TOKEN)] == ["from us"]
    assert [p["text"] for p in fake_slack.posted_with(ACME_TOKEN)] == [
        "too early",
        "from acme",
        "after",
    ]
    posts = fake_slack.calls_to("chat.postMessage")
    assert [(c.token, c.token_valid) for c in posts] == [
        (ACME_TOKEN, False),
        (ACME_TOKEN, True),
        (DEFAULT_TOKEN, True),
        (ACME_TOKEN, False),
    ]
    assert [m["text"] for m in fake_slack.posted("C1")] == ["from acme", "from us"]
    assert (await client.auth_test())["team_id"] == "T0FAKE"


# ----- signed request bodies, through Bolt -------------------------------------------------


class Heard:
    """What a Bolt app's listeners received."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.teams: list[str | None] = []


@pytest.fixture
def bolt(fake_slack: FakeSlack) -> tuple[AsyncApp, Heard]:
    app = AsyncApp(
        client=AsyncWebClient(token=DEFAULT_TOKEN, base_url=fake_slack.api_url),
        signing_secret=SIGNING_SECRET,
    )
    heard = Heard()

    async def listen(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
        heard.bodies.append(body)
        heard.teams.append(context.team_id)
        if body.get("type") == "view_submission":
            await ack(response_action="errors", errors={"name": "taken"})
        else:
            await ack()

    app.view("connect")(listen)
    app.command("/backups")(listen)
    app.action("backups_next")(listen)
    for event in ("app_home_opened", "app_uninstalled", "tokens_revoked"):
        app.event(event)(listen)
    return app, heard


async def dispatch(app: AsyncApp, body: str, *, json_body: bool = False) -> tuple[int, str]:
    headers: dict[str, str | Sequence[str]] = {**sign(body)}
    if json_body:
        headers["Content-Type"] = "application/json"
    response = await app.async_dispatch(AsyncBoltRequest(body=body, headers=headers))
    return response.status, response.body


async def test_bolt_routes_a_view_submission_to_its_callback_with_the_values(
    bolt: tuple[AsyncApp, Heard],
) -> None:
    app, heard = bolt
    body = view_submission_body(
        "connect",
        {"name": "prod", "token": {"value": "nf-secret", "other": ""}},
        private_metadata="C0CHAN",
        team=ACME,
        view_id="VM0000007",
    )

    status, answer = await dispatch(app, body)

    assert status == 200
    assert json.loads(answer) == {"response_action": "errors", "errors": {"name": "taken"}}
    [payload] = heard.bodies
    assert heard.teams == [ACME]
    view = payload["view"]
    assert (view["id"], view["callback_id"], view["private_metadata"]) == (
        "VM0000007",
        "connect",
        "C0CHAN",
    )
    assert view["state"]["values"] == {
        "name": {"value": {"type": "plain_text_input", "value": "prod"}},
        "token": {
            "value": {"type": "plain_text_input", "value": "nf-secret"},
            "other": {"type": "plain_text_input", "value": None},
        },
    }
    assert payload["user"] == {"id": "U0USER", "username": "someone", "team_id": ACME}


async def test_bolt_routes_event_bodies_by_type_and_team(bolt: tuple[AsyncApp, Heard]) -> None:
    app, heard = bolt
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["U0BOTT0ACME"]}}

    for body in (
        event_body({"type": "app_uninstalled"}, team=ACME),
        event_body(revoked, team=ACME),
        home_opened_body("U0HOME"),
    ):
        assert (await dispatch(app, body, json_body=True))[0] == 200

    for _ in range(100):  # event listeners run after the ack
        if len(heard.bodies) == 3:
            break
        await asyncio.sleep(0.01)
    by_type = {body["event"]["type"]: body for body in heard.bodies}
    assert set(by_type) == {"app_uninstalled", "tokens_revoked", "app_home_opened"}
    assert by_type["tokens_revoked"]["event"]["tokens"]["bot"] == ["U0BOTT0ACME"]
    assert by_type["app_uninstalled"]["team_id"] == ACME
    assert by_type["app_home_opened"]["team_id"] == "T0FAKE"
    assert by_type["app_home_opened"]["event"]["user"] == "U0HOME"
    assert len({body["event_id"] for body in heard.bodies}) == 3


async def test_slash_commands_and_buttons_carry_the_team_and_a_fresh_trigger(
    bolt: tuple[AsyncApp, Heard],
) -> None:
    app, heard = bolt

    for body in (
        slash_command_body("connect", "http://127.0.0.1:1/r", team=ACME),
        slash_command_body("connect", "http://127.0.0.1:1/r"),
        button_body("backups_next", "2", "http://127.0.0.1:1/r", team=ACME),
    ):
        assert (await dispatch(app, body))[0] == 200

    assert heard.teams == [ACME, "T0FAKE", ACME]
    triggers = [body["trigger_id"] for body in heard.bodies]
    assert len(set(triggers)) == 3
