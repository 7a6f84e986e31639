"""Names from Northflank cannot ping a channel or hide a link, anywhere the bot shows them.

tests/slack/render/ (test_listing.py, test_alert_message.py, ...) check the
renderers one by one. Here the names travel the whole way: they sit in the
fake Northflank, the bot reads them over HTTP, stores them (SQLite and
PostgreSQL), and every reply and channel message the fake Slack receives is
checked. Every mrkdwn text and every fallback `text` (Slack parses both for
mentions and links) must carry `<`, `>` and `&` as `&lt;`, `&gt;` and `&amp;`;
headers are plain_text, which Slack shows as typed, and are left out.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.slack.render.mrkdwn import escape
from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario
from tests.security.conftest import assert_inert, mrkdwn_texts, slash_payload

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123>",
    "<#C123|general>",
    "<https://evil.example|click here>",
    "&lt;!channel&gt;",
    "a & b > c",
]
DESTINATION_NAME = "<!channel> nightly"
DEST = "dest-1"


def _everything_escaped(payload: Any, names: list[str]) -> None:
    text = "\n".join(mrkdwn_texts(payload))
    for name in names:
        assert escape(name) in text, (name, text)


def _seed(scenario: Scenario) -> None:
    now = scenario.clock.now()
    scenario.northflank.add_destination(DEST, DESTINATION_NAME)
    scenario.northflank.add_destination("dest-2", "<https://evil.example|click>")
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                f"old-{i}",
                name=name,
                status="completed" if i % 2 else "<!here>",
                addon=(f"addon-{i}", name),
                project=(f"project-{i}", name),
                addon_type=name,
                created_at=now.replace(hour=i),
            )
            for i, name in enumerate(HOSTILE)
        ],
    )


async def test_listings_and_destinations_show_api_names_inert(scenario: Scenario) -> None:
    _seed(scenario)
    destinations = await slash_payload(scenario, "destinations")
    assert_inert(destinations)
    _everything_escaped(destinations, [DESTINATION_NAME, "<https://evil.example|click>"])

    for reference in (DEST, f'"{DESTINATION_NAME}"'):
        listing = await slash_payload(scenario, f"list {reference} limit=20")
        assert_inert(listing)
        _everything_escaped(listing, HOSTILE)


async def test_watch_replies_announcements_and_alerts_show_api_names_inert(
    scenario: Scenario,
) -> None:
    _seed(scenario)
    watched = await slash_payload(scenario, f"watch {DEST}")
    assert_inert(watched)
    _everything_escaped(watched, [DESTINATION_NAME])
    [announcement] = scenario.alerts_posted()
    # The one mention the bot makes on purpose: who asked for the watch.
    assert_inert(announcement, allowed_mentions=frozenset({ADMIN}))
    _everything_escaped(announcement, [DESTINATION_NAME])

    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                f"bad-{i}",
                name=name,
                status="failed",
                addon=(f"addon-{i}", name),
                project=(f"project-{i}", name),
                created_at=scenario.clock.now(),
            )
            for i, name in enumerate(HOSTILE)
        ],
    )
    await scenario.poll()
    alerts = scenario.alerts_posted()[1:]
    assert alerts, "the failures were not alerted"
    for alert in alerts:
        assert_inert(alert)
    _everything_escaped({"blocks": [b for a in alerts for b in a["blocks"]]}, HOSTILE)

    watching = await slash_payload(scenario, "watching")
    assert_inert(watching)
    _everything_escaped(watching, [DESTINATION_NAME])

    # Good backups of the same addons: recoveries in the threads, and the alerts edited.
    scenario.clock.advance(minutes=30)
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                f"good-{i}",
                name=name,
                addon=(f"addon-{i}", name),
                created_at=scenario.clock.now(),
            )
            for i, name in enumerate(HOSTILE)
        ],
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    replies = scenario.thread_replies()
    assert replies, "no recovery was threaded"
    for message in [*replies, *scenario.alerts_posted()[1:]]:
        assert_inert(message)
    assert scenario.slack.posted(CHANNEL), "nothing reached the channel"


@pytest.mark.parametrize(
    "raw",
    ["<!channel>", "<!here|here>", "<@U123>", "<#C1>", "<https://evil|click>", "a & b", "x>y"],
)
def test_the_inertness_check_catches_raw_markup(raw: str) -> None:
    message = {
        "text": "fine",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": raw}}],
    }
    with pytest.raises(AssertionError):
        assert_inert(message)


def test_the_inertness_check_passes_escaped_text_and_the_bots_own_tokens() -> None:
    own = f"<@{ADMIN}> at <!date^1700000000^{{date_short_pretty}} {{time}}|2023-11-14 22:13 UTC>"
    text = " ".join(escape(name) for name in HOSTILE) + " " + own
    assert_inert({"text": text, "blocks": []}, allowed_mentions=frozenset({ADMIN}))
