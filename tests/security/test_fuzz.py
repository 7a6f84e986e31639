"""Fuzzing: any command text and any button press gets an ack in time and a clear answer.

The bot runs for the whole module in a thread of its own (`ThreadedBot`),
against the fakes, and hypothesis sends it signed requests over real HTTP:
random unicode, strings up to 100 KB, mentions and links, null bytes,
right-to-left marks, injection fragments, absurd durations; button presses
with random action ids, values, missing fields and wrong types. For every
example the ack must come back within Slack's 3 seconds (the issue asks for
this timing check), an answer must reach response_url that says what was
wrong (not empty, not a traceback, nothing in it that could ping a channel),
and nothing may be logged at ERROR or with a traceback.

The profile is fixed (derandomize=True) so that CI runs the same examples
every time; the numbers run per property are printed under "measured figures".
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from bot.core import commands
from bot.core.command_parser import parse
from bot.core.commands import CommandError
from bot.slack.render.kit import UNKNOWN_BUTTON_TEXT, UNREADABLE_BUTTON_TEXT
from bot.slack.render.listing import NEXT_PAGE_ACTION
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.figures import report
from tests.security.conftest import (
    ErrorLog,
    ThreadedBot,
    assert_inert,
    assert_paths_stay_put,
    assert_readable_reply,
    new_key,
)
from tests.slack.requests import sign, slash_command_body
from tests.strings import shown_in_slack

# Slack's deadline for an ack; the issue asks for this one timing check.
ACK_DEADLINE = 3.0
EXAMPLES = 150
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
)
USER = "U0FUZZ"
CHANNEL = "C0FUZZ"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

# ----- strategies ------------------------------------------------------------------------

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U1>",
    "<#C1|general>",
    "<https://evil.example|click>",
    "<mailto:a@b.example|mail>",
    "&",
    "&amp;",
    "&lt;!channel&gt;",
    "*bold*",
    "_it_",
    "~s~",
    "`",
    "```",
    "\x00",
    "\u202e",  # right-to-left override
    "\u200f",  # right-to-left mark
    "\u2066",
    "\ufeff",
    "🔥",
    "👩‍👩‍👧",
    "Z̷̢a̵l̶g̷o",
    "' OR '1'='1",
    "1; DROP TABLE watches;--",
    "$(reboot)",
    "`id`",
    "; rm -rf /",
    "| cat /etc/passwd",
    "../../etc/passwd",
    "../../v1/auth",
    "..",
    "/",
    "?x=1",
    "#frag",
    "%2e%2e%2f",
    "%00",
    "\\",
    '"',
    "'",
    "“",
    "”",
    "’",
    "\n",
    "\t",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "%s%s%n",
    "dest-1",
    "dest-2",
    "Primary",
]
# The ones Slack would act on if they reached mrkdwn unescaped.
MARKUP = [word for word in HOSTILE if "<" in word or "&" in word]
DURATIONS = [
    "99999999999w",
    "99999999w",
    "1e9h",
    "-5m",
    "0m",
    "365d",
    "1h30m",
    "NaN",
    "inf",
    "8h",
    "1.5h",
    "６h",
    "1h1h",
]
VERBS = [*commands.VERBS, "LIST", "Watch", "destroy", "-h", "?"]
KEYS = [
    *("status", "addon", "limit", "events", "expiry", "stuck", "remind", "quiet", "tz"),
    *("STATUS", "", "=", "x"),
]
WORDS = [
    *("failed", "aborted", "completed", "all", "stuck", "missed", "recovered", "20", "0", "-1"),
    *("off", "22:00-07:00", "Europe/Berlin", "25:00-07:00", "Mars/Olympus"),
]

words = st.one_of(st.sampled_from(HOSTILE), st.sampled_from(DURATIONS), st.text(max_size=20))
options = st.builds(
    lambda key, value: f"{key}={value}",
    st.one_of(st.sampled_from(KEYS), st.text(max_size=10)),
    st.one_of(
        words,
        st.lists(st.sampled_from(WORDS + HOSTILE), min_size=1, max_size=4).map(",".join),
    ),
)
command_lines = st.builds(
    lambda verb, parts: " ".join([verb, *parts]),
    st.sampled_from(VERBS),
    st.lists(st.one_of(words, options), max_size=6),
)


def _repeated(piece: str, times: int) -> str:
    # Up to ~100 KB of UTF-8, whatever the piece is made of.
    return piece * min(times, 100_000 // max(1, len(piece.encode())))


huge_texts = st.builds(
    _repeated, st.text(min_size=1, max_size=8), st.integers(min_value=200, max_value=100_000)
)
command_texts = st.one_of(st.text(), command_lines, huge_texts)

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
# The Next button's value: the fields it has, with any types and hostile destinations.
next_page_values = st.fixed_dictionaries(
    {},
    optional={
        "d": st.one_of(st.sampled_from(HOSTILE), json_values),
        "c": st.one_of(st.none(), json_values),
        "k": st.one_of(st.integers(-5, 200), json_values),
        "s": st.one_of(st.lists(st.sampled_from(WORDS + HOSTILE), max_size=3), json_values),
        "a": st.one_of(st.sampled_from(HOSTILE), json_values),
        "l": st.one_of(st.integers(-5, 50), json_values),
    },
).map(json.dumps)
# A real button's value with one field spoiled: reaches past the shape checks.
_VALID_NEXT_PAGE: dict[str, Any] = {"d": "dest-1", "c": None, "k": 0, "s": [], "a": None, "l": 10}
_anything = st.one_of(st.sampled_from(HOSTILE), st.integers(-5, 200), json_values)
_SPOILERS = {
    "d": st.one_of(st.sampled_from(["dest-2", "Primary", "DEST-1", *HOSTILE]), _anything),
    "c": st.one_of(st.sampled_from(HOSTILE), _anything),
    "k": _anything,
    "s": st.one_of(
        st.lists(st.sampled_from(MARKUP), min_size=1, max_size=3),
        st.lists(st.sampled_from(WORDS + HOSTILE), min_size=1),
        _anything,
    ),
    "a": st.one_of(st.sampled_from(MARKUP), st.sampled_from(HOSTILE), _anything),
    "l": _anything,
}
spoiled_next_page_values = st.sampled_from(sorted(_SPOILERS)).flatmap(
    lambda key: _SPOILERS[key].map(lambda value: json.dumps({**_VALID_NEXT_PAGE, key: value}))
)
button_values = st.one_of(
    spoiled_next_page_values,
    spoiled_next_page_values,
    next_page_values,
    st.text(),
    json_values.map(json.dumps),
)
action_ids = st.one_of(
    st.just(NEXT_PAGE_ACTION),
    st.sampled_from(["retain_backup", "abort_backup", "start_backup", "", NEXT_PAGE_ACTION + " "]),
    st.text(max_size=30),
)
actions = st.fixed_dictionaries(
    {"action_id": st.one_of(action_ids, action_ids, json_scalars)},
    optional={
        "value": st.one_of(button_values, json_values),
        "block_id": st.one_of(st.text(max_size=10), json_scalars),
        "type": st.sampled_from(["button", "static_select", "overflow"]),
        "action_ts": st.one_of(st.just("1.3"), json_scalars),
    },
)
# Fields of a block_actions payload that may go missing; response_url and
# actions are varied on their own. (Wrong *types* for user, team or channel
# are a different matter: Bolt cannot even build its request from them; see
# test_bodies_bolt_cannot_read_are_refused_without_a_traceback.)
DROPPABLE = ["user", "team", "channel", "container", "trigger_id", "api_app_id", "token"]
RESPONSE_URL = "<response_url>"


class Fuzz:
    """The running bot and what the fuzz measured (a plain class: hypothesis prints it)."""

    def __init__(self, bot: ThreadedBot, errors: ErrorLog) -> None:
        self.bot = bot
        self.errors = errors
        self.acks: dict[str, list[float]] = {}
        self.replies: dict[str, int] = {}

    def __repr__(self) -> str:
        return "Fuzz(...)"

    def record(self, prop: str, seconds: float, *, replied: bool) -> None:
        self.acks.setdefault(prop, []).append(seconds)
        self.replies[prop] = self.replies.get(prop, 0) + int(replied)

    def assert_no_errors(self) -> None:
        assert self.errors.records == [], self.errors.lines()

    def assert_paths_stay_put(self) -> None:
        assert_paths_stay_put(self.bot.northflank)


def _seed(fake: FakeNorthflank) -> None:
    fake.add_destination("dest-1", "Primary")
    fake.add_backups(
        "dest-1",
        [
            make_backup(
                f"b{i:02d}",
                name=f"nightly-{i:02d}",
                created_at=T0 + timedelta(hours=i),
                status="failed" if i % 5 == 0 else "completed",
            )
            for i in range(25)
        ],
    )
    hostile = "<!channel> <@U1> <https://evil.example|click> & co"
    fake.add_destination("dest-2", hostile)
    fake.add_backups(
        "dest-2",
        [make_backup("h1", name=hostile, addon=("addon-h", hostile), status="failed")],
    )


@pytest.fixture(scope="module")
def fuzz(module_northflank: FakeNorthflank, module_slack: FakeSlack) -> Iterator[Fuzz]:
    _seed(module_northflank)
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    bot = ThreadedBot(module_northflank, module_slack)
    bot.start()
    bot.forget_startup_check()
    state = Fuzz(bot, errors)
    try:
        yield state
    finally:
        bot.stop()
        logging.getLogger().removeHandler(errors)
        _report(state)


def _report(state: Fuzz) -> None:
    rows = []
    for prop, seconds in state.acks.items():
        ordered = sorted(seconds)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        rows.append(
            (
                prop,
                len(ordered),
                state.replies.get(prop, 0),
                f"{statistics.median(ordered) * 1000:.1f} ms",
                f"{p99 * 1000:.1f} ms",
                f"{ordered[-1] * 1000:.1f} ms",
            )
        )
    if rows:
        report(
            "Fuzzing: signed requests per property (hypothesis, derandomized), "
            f"ack deadline {ACK_DEADLINE:.0f} s",
            ("property", "examples", "answers checked", "ack p50", "ack p99", "ack max"),
            rows,
        )


def _check_ack(fuzz: Fuzz, prop: str, body: str, *, replied: bool) -> None:
    response, seconds = fuzz.bot.post(body)
    fuzz.record(prop, seconds, replied=replied)
    assert response.status_code == 200, (response.status_code, response.text)
    assert seconds < ACK_DEADLINE, f"acked after {seconds:.2f} s"


# ----- command text ----------------------------------------------------------------------


def _parse_error(text: str) -> str | None:
    """The parser's explanation of what is wrong with `text`, as Slack shows it (escaped)."""
    try:
        parse(text)
    except CommandError as exc:
        return shown_in_slack(str(exc))
    return None


@FUZZ
@given(text=command_texts)
def test_any_command_text_gets_a_prompt_clear_answer(fuzz: Fuzz, text: str) -> None:
    key = new_key("fuzz-cmd")
    body = slash_command_body(text, fuzz.bot.slack.response_url(key), user=USER, channel=CHANNEL)
    _check_ack(fuzz, "command text", body, replied=True)
    payload = fuzz.bot.reply_to(key).payload
    answer = assert_readable_reply(payload)
    assert_inert(payload)
    explanation = _parse_error(text)
    if explanation is not None:
        # The answer is the parser's own explanation of what was wrong, as it stands.
        assert answer == explanation
    for message in fuzz.bot.slack.posted(CHANNEL):
        # `watch` announces itself in the channel: that must be inert too.
        assert_inert(message, allowed_mentions=frozenset({USER}))
    fuzz.assert_paths_stay_put()
    fuzz.assert_no_errors()


# ----- button presses --------------------------------------------------------------------


def _block_actions(actions_value: Any, dropped: set[str], response_url: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": USER, "username": "fuzz", "team_id": "T0FAKE"},
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1.1", "channel_id": CHANNEL},
        "trigger_id": "1.2.3",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "channel": {"id": CHANNEL, "name": "fuzz"},
        "response_url": response_url,
        "actions": actions_value,
    }
    for name in dropped:
        payload.pop(name, None)
    return payload


button_payloads = st.builds(
    _block_actions,
    st.one_of(
        st.lists(actions, min_size=1, max_size=1),
        st.lists(actions, min_size=1, max_size=3),
        json_values,
    ),
    st.sets(st.sampled_from([*DROPPABLE, "actions", "response_url"])),
    st.one_of(st.just(RESPONSE_URL), st.just(RESPONSE_URL), json_scalars),
)


def _first_action_id(payload: dict[str, Any]) -> str | None:
    """The action id Bolt would read, or None when it cannot read one."""
    listed = payload.get("actions")
    if not isinstance(listed, list) or not listed or not isinstance(listed[0], dict):
        return None
    action_id = listed[0].get("action_id")
    return action_id if isinstance(action_id, str) else None


@FUZZ
@given(payload=button_payloads)
def test_any_button_press_gets_a_prompt_clear_answer(fuzz: Fuzz, payload: dict[str, Any]) -> None:
    key = new_key("fuzz-btn")
    answerable = payload.get("response_url") == RESPONSE_URL
    if answerable:
        payload["response_url"] = fuzz.bot.slack.response_url(key)
    _check_ack(
        fuzz, "button press", urlencode({"payload": json.dumps(payload)}), replied=answerable
    )
    if answerable:
        reply = fuzz.bot.reply_to(key).payload
        answer = assert_readable_reply(reply)
        assert_inert(reply)
        action_id = _first_action_id(payload)
        if action_id is None:
            assert answer == UNREADABLE_BUTTON_TEXT
        elif action_id != NEXT_PAGE_ACTION:
            assert answer == UNKNOWN_BUTTON_TEXT
    fuzz.assert_paths_stay_put()
    assert fuzz.bot.northflank.writes == []
    fuzz.assert_no_errors()


@FUZZ
@given(value=button_values)
def test_any_next_page_value_gets_a_prompt_clear_answer(fuzz: Fuzz, value: str) -> None:
    key = new_key("fuzz-next")
    action = {"action_id": NEXT_PAGE_ACTION, "block_id": "backups_paging", "value": value}
    payload = _block_actions([action], set(), fuzz.bot.slack.response_url(key))
    _check_ack(fuzz, "Next page value", urlencode({"payload": json.dumps(payload)}), replied=True)
    reply = fuzz.bot.reply_to(key).payload
    answer = assert_readable_reply(reply)
    assert_inert(reply)
    assert answer not in (UNKNOWN_BUTTON_TEXT, UNREADABLE_BUTTON_TEXT)
    fuzz.assert_paths_stay_put()
    fuzz.assert_no_errors()


# ----- bodies Bolt cannot read -----------------------------------------------------------


def _not_an_object(text: str) -> bool:
    try:
        return not isinstance(json.loads(text), dict)
    except ValueError:
        return True


WRONG_TYPES = st.one_of(st.integers(), st.floats(), st.booleans(), st.lists(st.integers()))
unreadable_bodies = st.one_of(
    # payload= that is not JSON, or JSON that is not an object
    st.text().filter(_not_an_object).map(lambda s: urlencode({"payload": s})),
    json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: urlencode({"payload": json.dumps(v)})
    ),
    # a button press whose user, team, channel or enterprise has the wrong type
    st.builds(
        lambda name, value: urlencode(
            {
                "payload": json.dumps(
                    {
                        **_block_actions([{"action_id": NEXT_PAGE_ACTION}], set(), "x"),
                        name: value,
                    }
                )
            }
        ),
        st.sampled_from(["user", "team", "channel", "enterprise", "authorizations"]),
        WRONG_TYPES,
    ),
    # something that starts like JSON and is not
    st.text().map(lambda s: "{" + s).filter(_not_an_object),
)


@settings(FUZZ, phases=[Phase.explicit, Phase.generate])
@given(body=unreadable_bodies)
def test_bodies_bolt_cannot_read_are_refused_without_a_traceback(fuzz: Fuzz, body: str) -> None:
    try:
        response, seconds = fuzz.bot.post(body, sign(body))
        fuzz.record("unreadable body", seconds, replied=False)
        assert response.status_code < 500, (response.status_code, response.text)
        assert seconds < ACK_DEADLINE
        fuzz.assert_no_errors()
    finally:
        # While this is an expected failure, its tracebacks must not fail the others.
        fuzz.errors.records.clear()
