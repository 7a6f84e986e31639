"""Seeing backup health, end to end: `/backups report`, the weekly report, the Home tab.

The bot runs against the fake Northflank and the fake Slack (which serves
files_upload_v2's three steps, views.publish and conversations.open), on both
databases, with a clock the test moves.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import httpx
from PIL import Image
from slack_sdk.models.views import View

from bot.core.listing import MAX_SCAN_PAGES
from bot.core.reports import MAX_DAYS
from bot.core.tenancy import SINGLE
from bot.services.followups import Followups
from bot.slack.render.alert_buttons import HOME_ACKNOWLEDGE_ACTION
from bot.slack.render.home import HOME_REPORT_ACTION
from bot.store import Store
from tests.fakes.northflank import make_backup
from tests.fakes.slack import UPLOAD
from tests.scenarios.conftest import ADMIN, CHANNEL, Scenario, reply_text
from tests.slack.render.examples import assert_valid_for_slack_sdk
from tests.slack.requests import home_button_body, home_opened_body, sign

DEST = "dest-1"
OTHER = "dest-2"
DAILY = [{"interval": "daily", "minute": [0], "hour": [2]}]
GB = 1024**3


def history(
    start: datetime, days: int, *, fail_on: frozenset[int] = frozenset(), first: int = 0
) -> list[dict[str, Any]]:
    """A daily backup of two addons for `days` days from `start` (day `first` of the
    history); the days in `fail_on` fail (orders-db)."""
    backups = []
    for day in range(first, first + days):
        created = start + timedelta(days=day - first)
        for addon, size in (
            (("addon-orders", "orders-db"), 2 * GB),
            (("addon-users", "users-db"), GB),
        ):
            failed = day in fail_on and addon[1] == "orders-db"
            backups.append(
                make_backup(
                    f"{addon[1]}-{day}",
                    name=f"{addon[1]}-nightly-{day}",
                    status="failed" if failed else "completed",
                    created_at=created,
                    completed_at=created + timedelta(minutes=4 if addon[1] == "orders-db" else 2),
                    addon=addon,
                    size=0 if failed else size,
                    expired_by=created + timedelta(days=14),
                    schedules=DAILY,
                )
            )
    return backups


async def watched_with_history(world: Scenario, *, fail_on: frozenset[int]) -> datetime:
    """DEST with 20 days of nightly history up to today's, watched in CHANNEL and polled;
    the start of it."""
    now = world.clock.now()
    assert now.hour == 12  # today's 02:00 run is in the history, not missed
    start = (now - timedelta(days=19)).replace(hour=2, minute=0, second=0, microsecond=0)
    world.northflank.add_destination(DEST, "Nightly S3")
    world.northflank.add_backups(DEST, history(start, 20, fail_on=fail_on))
    assert "now watches" in await world.slash(f"watch {DEST}")
    await world.poll()
    return start


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


async def test_report_of_a_watched_destination_posts_one_chart_from_the_store(
    scenario: Scenario,
) -> None:
    await watched_with_history(scenario, fail_on=frozenset({15, 18}))
    requests_before = scenario.northflank.request_count()
    answer = await scenario.slash(f"report {DEST} days=30")

    # One PNG, in the channel, with the summary as its comment; no Northflank request.
    files = scenario.slack.files(CHANNEL)
    assert len(files) == 1, answer
    assert scenario.northflank.request_count() == requests_before
    assert "Posted the report of the last 30 days" in answer
    image = decode(files[0].bytes)
    assert abs(image.width - 1200) <= 10 and abs(image.height - 700) <= 10
    assert len(files[0].bytes) < 200_000
    assert len(image.convert("RGB").getcolors(maxcolors=1_000_000) or []) > 20  # not blank
    # The figures, against the fake's history: 40 backups, 2 failed, both orders-db.
    comment = files[0].initial_comment or ""
    assert "40 backups, 95.0% successful" in comment
    assert "completed 38" in comment and "failed 2" in comment
    assert comment.count("failed: orders-db") == 2, comment
    assert f"<@{ADMIN}>" in comment


async def test_report_of_an_unwatched_destination_reads_the_api_within_the_page_budget(
    scenario: Scenario,
) -> None:
    now = scenario.clock.now()
    scenario.northflank.add_destination(OTHER, "Busy")
    # 2,500 hourly backups: more than a listing's budget of pages of 100 can reach.
    scenario.northflank.add_backups(
        OTHER,
        [
            make_backup(f"h{i}", created_at=now - timedelta(hours=i), size=GB)
            for i in range(1, 2501)
        ],
    )
    before = scenario.northflank.request_count("/v1/backup-destinations/")
    answer = await scenario.slash(f"report {OTHER} days=90")
    listed = scenario.northflank.request_count("/v1/backup-destinations/") - before
    assert listed <= MAX_SCAN_PAGES + 2  # the pages, and resolving the destination
    files = scenario.slack.files(CHANNEL)
    assert len(files) == 1, answer
    comment = files[0].initial_comment or ""
    assert "reach back only to" in comment
    assert "Northflank was read within a listing's page budget" in comment
    assert "from Northflank" in answer


async def test_a_period_without_backups_gets_a_sentence_not_an_empty_chart(
    scenario: Scenario,
) -> None:
    scenario.northflank.add_destination(OTHER, "Idle")
    old = scenario.clock.now() - timedelta(days=60)
    scenario.northflank.add_backups(OTHER, [make_backup("ancient", created_at=old)])
    answer = await scenario.slash(f"report {OTHER} days=7")
    assert scenario.slack.files(CHANNEL) == []
    posted = [reply_text(m) for m in scenario.slack.posted(CHANNEL)]
    assert any("No backups were made in these 7 days" in text for text in posted), posted
    assert "no backups" in answer


async def test_report_with_bad_input_says_what_was_wrong(scenario: Scenario) -> None:
    answer = await scenario.slash(f"report {DEST} days={MAX_DAYS + 1}")
    assert "from 1 to 90" in answer and "/backups report [DEST] [days=30]" in answer
    assert scenario.slack.files() == []


async def test_the_weekly_report_goes_out_once_a_week_across_replicas(
    scenario: Scenario,
) -> None:
    """Three replicas run the followups job every three hours for two weeks and more while
    the nightly backups go on: each watch gets one report a week, except the week it was muted over
    Monday morning."""
    start = await watched_with_history(scenario, fail_on=frozenset())
    assert "now watches" in await scenario.slash(f"watch {DEST}", channel="C0SECOND")
    now = scenario.clock.now()
    # The first Monday 09:00 after the watch began; three weeks of hours up to the third.
    monday = (now + timedelta(days=(7 - now.weekday()) % 7 or 7)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    others = [Store.connect(scenario.database_url) for _ in range(2)]
    replicas = [scenario.bot.followups] + [
        Followups(store, clock=scenario.clock.now) for store in others
    ]
    try:
        moment = now
        while moment < monday + timedelta(weeks=2, hours=1):
            moment += timedelta(hours=3)  # 03:xx, 06:xx, 09:xx, ... from a 12:xx start
            scenario.clock.set(moment)
            if moment.hour == 3:  # the night's backups are in: Northflank lists them
                day = (moment - start).days
                nightly = history(start + timedelta(days=day), 1, first=day)
                scenario.northflank.add_backups(DEST, nightly)
                await scenario.poll()
            if moment.date() == (monday + timedelta(weeks=1)).date() and moment.hour == 6:
                assert "Muted" in await scenario.slash(f"mute {DEST} 4h", channel="C0SECOND")
            runs = await asyncio.gather(*(replica.run() for replica in replicas))
            assert sum(run.weekly_reports + run.weekly_reports_skipped for run in runs) <= 2
            await scenario.deliver()
    finally:
        for store in others:
            await store.close()
    per_channel = Counter(f.channel for f in scenario.slack.files())
    assert per_channel == {CHANNEL: 3, "C0SECOND": 2}
    comments = [f.initial_comment or "" for f in scenario.slack.files(CHANNEL)]
    # A quiet week still gets its report: the heartbeat.
    assert all("the last 7 days" in c for c in comments)
    assert all("14 backups, 100.0% successful, all good" in c for c in comments), comments
    assert "next weekly report" in await scenario.slash("watching")


async def test_the_home_tab_lists_every_watch_and_acts_on_open_alerts(
    scenario: Scenario,
) -> None:
    start = await watched_with_history(scenario, fail_on=frozenset())
    # A failure after the watch began: an open alert the Home tab offers to acknowledge.
    failed_at = scenario.clock.now()
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                "late-failure",
                status="failed",
                created_at=failed_at,
                addon=("addon-orders", "orders-db"),
                schedules=DAILY,
            )
        ],
    )
    scenario.clock.advance(timedelta(minutes=5))
    await scenario.poll()
    assert start < failed_at
    requests_before = scenario.northflank.request_count()

    view = await open_home(scenario, "U0VIEWER")
    assert scenario.northflank.request_count() == requests_before  # the store only
    View(**view).validate_json()
    assert_valid_for_slack_sdk(view["blocks"], view="home")
    text = reply_text(view)
    assert "Nightly S3" in text and f"<#{CHANNEL}>" in text
    assert "1 open problem" in text and "late-failure" in text
    # The last 7 days: 14 nightly backups and the failure, 14 of 15 good.
    assert "7 days: 93.3% of 15 good" in text, text

    # Acknowledge on the Home tab: the same action as in the channel, then the tab again.
    ledger = await scenario.bot.store.open_problems(team=SINGLE, limit=5)
    alert_id = ledger[0][0].id
    await press_home(scenario, HOME_ACKNOWLEDGE_ACTION, str(alert_id), user="U0VIEWER")
    stored = await scenario.bot.store.alert(alert_id)
    assert stored is not None and stored.acknowledged_by == "U0VIEWER"
    republished = scenario.slack.home_view("U0VIEWER")
    assert republished is not None and "acknowledged by <@U0VIEWER>" in reply_text(republished)
    audit = await scenario.slash("audit")
    assert "acknowledge" in audit.lower() and "U0VIEWER" in audit

    # Report to me: a DM with the chart.
    await press_home(scenario, HOME_REPORT_ACTION, DEST, user="U0VIEWER")
    dms = [f for f in scenario.slack.files() if f.channel != CHANNEL]
    assert len(dms) == 1 and (dms[0].channel or "").startswith("D")
    assert decode(dms[0].bytes).width > 1000


async def open_home(world: Scenario, user: str) -> dict[str, Any]:
    body = home_opened_body(user)
    headers = sign(body) | {"Content-Type": "application/json"}
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"http://127.0.0.1:{world.bot.port}/slack/events", content=body, headers=headers
        )
    assert answer.status_code == 200
    return await world.slack.await_home_view(user)


async def press_home(world: Scenario, action_id: str, value: str, *, user: str) -> None:
    body = home_button_body(action_id, value, user=user)
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"http://127.0.0.1:{world.bot.port}/slack/events", content=body, headers=sign(body)
        )
    assert answer.status_code == 200
    await world.bot.after_ack.drained()
    await world.deliver()


async def test_a_failed_upload_is_explained_and_nothing_is_shared(scenario: Scenario) -> None:
    await watched_with_history(scenario, fail_on=frozenset())
    scenario.slack.fail_next(UPLOAD, "500")
    answer = await scenario.slash(f"report {DEST}")
    assert "Slack did not take the report (upload_failed). Please try again." in answer
    assert scenario.slack.files() == []
    # Asked again, it goes out.
    assert "Posted the report" in await scenario.slash(f"report {DEST}")
    assert len(scenario.slack.files(CHANNEL)) == 1
