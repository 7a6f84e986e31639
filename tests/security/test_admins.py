"""BOT_ADMINS: only admins change what a channel watches, and writes reach Northflank one way.

tests/scenarios/test_watch_commands.py shows a non-admin refused while the
channel watches nothing. Here the channel already has watches (one muted),
so a refused `watch`, `unwatch`, `mute` or `unmute` would have something to
change; the store is compared before and after, on SQLite and PostgreSQL.

Write actions reach Northflank only through the client's `retain_backup`,
`abort_backup` and `start_backup`, which the Slack layer offers to BOT_ADMINS
only (tests/scenarios/test_interactive_alerts.py presses them). A static
check walks the source for any other use of the SDK's write endpoints, and a
whole scenario, with buttons named like write actions but not ours, leaves
the fake Northflank's record of writes empty.
"""

from __future__ import annotations

import ast
import asyncio
import json
from typing import Any
from urllib.parse import urlencode

import httpx
import northflank
import pytest

from bot.runtime.settings import BotSettings, ConfigurationError, load
from bot.slack.render.kit import UNKNOWN_BUTTON_TEXT
from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.fakes.northflank import make_backup
from tests.processes import REPO
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario, reply_text
from tests.security.conftest import assert_inert, assert_paths_stay_put, new_key, slash_payload
from tests.slack.requests import button_body, sign

SOMEONE = "U0SOMEONE"
WRITE_BUTTONS = ("retain_backup", "start_backup", "abort_backup")


def _seed(scenario: Scenario) -> None:
    for number in (1, 2, 3):
        scenario.northflank.add_destination(f"dest-{number}", f"Nightly {number}")
    scenario.northflank.add_backups(
        "dest-1", [make_backup(f"b{i}", created_at=scenario.clock.now()) for i in range(12)]
    )


async def _refused(scenario: Scenario, text: str, *, channel: str = CHANNEL) -> None:
    payload = await slash_payload(scenario, text, user=SOMEONE, channel=channel)
    answer = reply_text(payload)
    assert "Only the bot's admins (BOT_ADMINS)" in answer, (text, answer)
    assert f"<@{ADMIN}>" in answer, answer  # whom to ask
    assert_inert(payload, allowed_mentions=frozenset({ADMIN}))


async def test_a_non_admin_changes_nothing_and_is_told_whom_to_ask(
    admin_scenario: Scenario,
) -> None:
    scenario = admin_scenario
    _seed(scenario)
    await scenario.slash("watch dest-1 events=failed stuck=3h")
    await scenario.slash("watch dest-2")
    await scenario.slash("mute dest-2 8h")
    before = await scenario.bot.store.channel_watches(CHANNEL)
    posted = len(scenario.slack.posted())
    scenario.northflank.clear_requests()

    for text in (
        "watch dest-1 events=aborted expiry=1d",
        "watch dest-3",
        "unwatch dest-1",
        'unwatch "Nightly 2"',
        "mute dest-1 8h",
        "unmute dest-2",
    ):
        await _refused(scenario, text)
    await _refused(scenario, "watch dest-1", channel="C0ELSEWHERE")

    assert await scenario.bot.store.channel_watches(CHANNEL) == before
    assert await scenario.bot.store.channel_watches("C0ELSEWHERE") == []
    assert len(scenario.slack.posted()) == posted  # no announcement either
    # Refused before the destination is even looked up.
    assert scenario.northflank.requests == []


async def test_an_admin_changes_what_a_non_admin_could_not(admin_scenario: Scenario) -> None:
    """The control: the refusals above are about who asks, not about the commands."""
    scenario = admin_scenario
    _seed(scenario)
    assert "now watches" in await scenario.slash("watch dest-1")
    assert "Muted" in await scenario.slash("mute dest-1 8h")
    assert "Unmuted" in await scenario.slash("unmute dest-1")
    assert "no longer watches" in await scenario.slash("unwatch dest-1")
    assert await scenario.bot.store.channel_watches(CHANNEL) == []


async def test_anyone_may_still_look(admin_scenario: Scenario) -> None:
    scenario = admin_scenario
    _seed(scenario)
    await scenario.slash("watch dest-1")
    for text, expected in (
        ("list dest-1", "backups in Nightly 1"),
        ("watching", "Nightly 1"),
        ("destinations", "backup destinations"),
        ("help", "/backups watch"),
    ):
        assert expected in await scenario.slash(text, user=SOMEONE), text


def test_admin_ids_that_are_not_slack_user_ids_stop_start_up() -> None:
    """A typo or a pasted mention in BOT_ADMINS would lock everyone out with no hint."""
    with pytest.raises(ConfigurationError) as refused:
        load(
            BotSettings,
            _env_file=None,
            slack_bot_token="xoxb-test",
            slack_signing_secret="test-secret",
            northflank_api_token="nf-test",
            bot_admins=f"{ADMIN},<!channel>,W0OTHER,u0lower",
        )
    message = str(refused.value)
    assert "BOT_ADMINS: 2 of its 4 entries are not a Slack user id" in message
    assert "<!channel>" not in message and "u0lower" not in message


# ----- no writes -------------------------------------------------------------------------


async def _press(scenario: Scenario, action_id: str, value: str, user: str) -> str:
    key = new_key("admin-press")
    body = button_body(action_id, value, scenario.slack.response_url(key), user=user)
    async with httpx.AsyncClient(timeout=10.0) as http:
        ack = await http.post(
            f"http://127.0.0.1:{scenario.bot.port}/slack/events", content=body, headers=sign(body)
        )
    assert ack.status_code == 200, ack.text
    for _ in range(1000):
        replies = [r for r in scenario.slack.responses if r.key == key]
        if replies:
            return str(replies[0].payload["text"])
        await asyncio.sleep(0.01)
    raise AssertionError(f"no answer to the {action_id} button")


async def test_a_whole_scenario_makes_no_write_to_northflank(admin_scenario: Scenario) -> None:
    scenario = admin_scenario
    _seed(scenario)
    await scenario.slash("watch dest-1")
    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        "dest-1",
        [make_backup("bad", name="bad-one", status="failed", created_at=scenario.clock.now())],
    )
    await scenario.poll()
    scenario.clock.advance(minutes=30)
    scenario.northflank.add_backups(
        "dest-1", [make_backup("good", name="good-one", created_at=scenario.clock.now())]
    )
    await scenario.poll()
    assert scenario.thread_replies(), "the scenario did not reach a recovery"
    await scenario.slash("list dest-1 limit=5")
    value = json.dumps({"d": "dest-1", "c": None, "k": 5, "s": [], "a": None, "l": 5})
    assert "backups in Nightly 1" in await _press(scenario, NEXT_PAGE_ACTION, value, ADMIN)
    await scenario.slash("mute dest-1 1h")
    await scenario.slash("unmute dest-1")
    # Buttons named like the write actions to come: nobody, admin or not, gets a write.
    for action_id in WRITE_BUTTONS:
        for user in (ADMIN, SOMEONE):
            value = urlencode({"backup": "bad", "addon": "addon-1", "project": "project-1"})
            assert await _press(scenario, action_id, value, user) == UNKNOWN_BUTTON_TEXT
    await scenario.slash("unwatch dest-1")

    assert scenario.northflank.writes == []
    assert_paths_stay_put(scenario.northflank)


# The SDK's read namespaces, and the only writes: each in its own method of the client,
# each reaching the one SDK endpoint named here (all POSTs; the Slack layer lets only
# BOT_ADMINS trigger them).
READ_NAMESPACES = frozenset({"list", "get"})
WRITE_METHODS = {
    "NorthflankClient.retain_backup": "retain.addon.backup",
    "NorthflankClient.abort_backup": "abort.addon.backup",
    "NorthflankClient.start_backup": "backup.addon",
}
ALLOWED_NAMESPACES = READ_NAMESPACES | {path.split(".")[0] for path in WRITE_METHODS.values()}


class _SdkUses(ast.NodeVisitor):
    """Every `<x>._sdk...` in a module: (the path after `_sdk`, the enclosing function).

    `self._sdk.retain.addon.backup(...)` gives ("retain.addon.backup",
    "NorthflankClient.retain_backup"). A bare `_sdk` (assigned, aliased, passed to
    getattr) gives the path "", so a write cannot hide behind a dynamic lookup.
    """

    def __init__(self) -> None:
        self.uses: set[tuple[str, str]] = set()
        self._scope: list[str] = []

    def _visit_scope(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()

    visit_ClassDef = visit_FunctionDef = visit_AsyncFunctionDef = _visit_scope

    def visit_Attribute(self, node: ast.Attribute) -> None:
        chain: list[str] = []
        inner: ast.expr = node
        while isinstance(inner, ast.Attribute):
            chain.append(inner.attr)
            inner = inner.value
        chain.reverse()  # self._sdk.retain.addon.backup -> ["_sdk", "retain", ...]
        if "_sdk" in chain:
            after = chain[chain.index("_sdk") + 1 :]
            self.uses.add((".".join(after), ".".join(self._scope)))
            self.visit(inner)  # the attributes inside this chain are the same use
        else:
            self.generic_visit(node)


def _sdk_uses(source: str) -> set[tuple[str, str]]:
    finder = _SdkUses()
    finder.visit(ast.parse(source))
    return finder.uses


def _misplaced_sdk_uses(source: str) -> list[str]:
    """What breaks the rule: reads anywhere, each write only in its own method."""
    misplaced = []
    for path, scope in sorted(_sdk_uses(source)):
        namespace = path.split(".")[0]
        if namespace in READ_NAMESPACES:
            continue
        if path == "" and scope == "NorthflankClient.__init__":
            continue  # where the SDK client is built and stored
        if WRITE_METHODS.get(scope) != path:
            misplaced.append(f"_sdk.{path} in {scope or 'the module'}")
    return misplaced


def test_the_northflank_client_reaches_only_reads_and_its_three_writes() -> None:
    used: dict[str, set[tuple[str, str]]] = {}
    for path in sorted((REPO / "bot").rglob("*.py")):
        uses = _sdk_uses(path.read_text())
        if uses:
            used[str(path.relative_to(REPO))] = uses
    assert used, "the check found no SDK call at all: it is looking in the wrong place"
    # Only the client talks to the SDK, and nothing builds a second SDK client.
    assert set(used) == {"bot/northflank/client.py"}, used
    uses = used["bot/northflank/client.py"]
    namespaces = {path.split(".")[0] for path, _ in uses if path}
    assert namespaces <= ALLOWED_NAMESPACES, namespaces
    assert _misplaced_sdk_uses((REPO / "bot/northflank/client.py").read_text()) == []
    # Each write method does reach its endpoint: the mapping above is not stale.
    others = {(path, scope) for path, scope in uses if path.split(".")[0] not in READ_NAMESPACES}
    expected = {(path, scope) for scope, path in WRITE_METHODS.items()}
    assert others == expected | {("", "NorthflankClient.__init__")}, others
    builders = [
        str(path.relative_to(REPO))
        for path in (REPO / "bot").rglob("*.py")
        if "AsyncApiClient(" in path.read_text() or "ApiClient(" in path.read_text()
    ]
    assert builders == ["bot/northflank/client.py"], builders


def test_the_static_check_would_see_a_write_out_of_place() -> None:
    def client(method: str, body: str) -> str:
        return f"class NorthflankClient:\n    async def {method}(self):\n        {body}\n"

    retain = "await self._sdk.retain.addon.backup(project_id='p')"
    assert _misplaced_sdk_uses(client("retain_backup", retain)) == []
    assert _misplaced_sdk_uses(client("list_backups_page", "await self._sdk.list.x()")) == []
    # A write outside its method, another write in a write's method, a dynamic lookup,
    # a write from a function of another class with the same name.
    assert _misplaced_sdk_uses(client("list_backups_page", retain)) == [
        "_sdk.retain.addon.backup in NorthflankClient.list_backups_page"
    ]
    assert _misplaced_sdk_uses(client("start_backup", "await self._sdk.delete.addon()")) == [
        "_sdk.delete.addon in NorthflankClient.start_backup"
    ]
    assert _misplaced_sdk_uses(client("retain_backup", "getattr(self._sdk, 'delete')")) == [
        "_sdk. in NorthflankClient.retain_backup"
    ]
    other = "class Other:\n    async def retain_backup(self):\n        " + retain + "\n"
    assert _misplaced_sdk_uses(other) == ["_sdk.retain.addon.backup in Other.retain_backup"]


def test_the_sdk_namespaces_checked_are_real() -> None:
    """`list` and `get` are the SDK's reads; the three write paths are its backup POSTs."""
    client = northflank.AsyncApiClient(api_token="x", base_url="http://127.0.0.1:9")
    namespaces = set(dir(client))
    assert namespaces >= READ_NAMESPACES
    assert namespaces >= {"retain", "start", "abort", "backup", "create", "delete", "update"}
    routes = {}
    for path in WRITE_METHODS.values():
        call: Any = client
        for name in path.split("."):
            call = getattr(call, name)
        endpoint = call._endpoint
        routes[path] = (endpoint.method, endpoint.path_templates[0])
    addon = "/v1/projects/{projectId}/addons/{addonId}/backups"
    assert routes == {
        "retain.addon.backup": ("post", f"{addon}/{{backupId}}/retain"),
        "abort.addon.backup": ("post", f"{addon}/{{backupId}}/abort"),
        "backup.addon": ("post", addon),
    }
