"""The Home tab's view and a report's comment: Slack's limits, escaping, the block budget."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from bot.core.handling import StoredAlert
from bot.core.messages import ReportMessage
from bot.core.reports import Expiry, ReportSource, build_report
from bot.core.watches import Event, PollStatus, Watch, WatchSettings
from bot.services.home import ChannelWatches, DestinationHealth, HomeOverview
from bot.slack.render.alert_buttons import HOME_ACKNOWLEDGE_ACTION, HOME_SNOOZE_ACTION
from bot.slack.render.home import HOME_REPORT_ACTION, MAX_BLOCKS, home_view
from bot.slack.render.report import report_comment, report_filename, report_reply
from tests.slack.render.examples import (
    HOSTILE,
    HOSTILE_ESCAPED,
    NOW,
    assert_inert,
    assert_valid_for_slack_sdk,
    make_alert,
    make_backup,
    rendered_strings,
)


def watch(channel: str = "C0OPS", destination: str = "dest-1", name: str = "Primary") -> Watch:
    return Watch(
        id=abs(hash((channel, destination))) % 10_000,
        channel=channel,
        destination_id=destination,
        destination_name=name,
        settings=WatchSettings(),
        started_at=NOW - timedelta(days=30),
        created_by="U1",
    )


def health(w: Watch, problems: int = 0) -> DestinationHealth:
    return DestinationHealth(
        watch=w,
        open_problems=problems,
        status=PollStatus(w.destination_id, last_poll_at=NOW - timedelta(minutes=3)),
        backups=168,
        success_rate=167 / 168,
        next_expiry=Expiry("orders-db", "nightly", NOW + timedelta(days=2)),
    )


def stored(alert_id: int, channel: str = "C0OPS", **changes: object) -> StoredAlert:
    base = StoredAlert(
        id=alert_id,
        channel=channel,
        destination_id="dest-1",
        watch_id=1,
        alert=make_alert(Event.FAILED),
        message_ts="1.1",
        resolved_at=None,
        created_at=NOW - timedelta(hours=1),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def overview(
    channels: int, per_channel: int, alerts: int = 0, *, name: str = "Primary"
) -> HomeOverview:
    return HomeOverview(
        channels=tuple(
            ChannelWatches(
                f"C{c:04d}",
                tuple(
                    health(watch(f"C{c:04d}", f"dest-{c}-{d}", name), problems=d % 2)
                    for d in range(per_channel)
                ),
            )
            for c in range(channels)
        ),
        open_alerts=tuple(stored(i + 1) for i in range(min(alerts, 15))),
        open_alert_total=alerts,
        at=NOW,
    )


def test_the_view_groups_watches_by_channel_with_their_health() -> None:
    view = home_view(overview(2, 2, alerts=1))
    assert view["type"] == "home"
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    assert_valid_for_slack_sdk(blocks, view="home")
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts[0] == "*<#C0000>*"
    assert "*Primary* `dest-0-0` · :white_check_mark: ok" in texts[1]
    assert ":red_circle: 1 open problem" in texts[2]
    assert "7 days: 99.4% of 168 good" in texts[1]
    reports = [b["accessory"] for b in blocks if "accessory" in b]
    assert {r["action_id"] for r in reports} == {HOME_REPORT_ACTION}
    assert [r["value"] for r in reports] == ["dest-0-0", "dest-0-1", "dest-1-0", "dest-1-1"]


def test_open_alerts_carry_acknowledge_and_snooze_under_the_home_ids() -> None:
    view = home_view(overview(1, 1, alerts=2))
    actions = [b for b in view["blocks"] if b["type"] == "actions"]
    assert len(actions) == 2
    ids = [e["action_id"] for e in actions[0]["elements"]]
    assert ids == [HOME_ACKNOWLEDGE_ACTION, HOME_SNOOZE_ACTION]
    acknowledged = home_view(
        dataclasses.replace(overview(1, 1), open_alerts=(stored(7, acknowledged_by="U9"),))
    )
    (only,) = [b for b in acknowledged["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in only["elements"]] == [HOME_SNOOZE_ACTION]


@pytest.mark.parametrize(
    ("channels", "per_channel", "alerts"), [(10, 10, 40), (60, 1, 0), (1, 200, 15)]
)
def test_a_big_workspace_stays_within_100_blocks_and_says_what_it_left_out(
    channels: int, per_channel: int, alerts: int
) -> None:
    view = home_view(overview(channels, per_channel, alerts))
    blocks = view["blocks"]
    assert isinstance(blocks, list)
    assert len(blocks) <= MAX_BLOCKS
    assert_valid_for_slack_sdk(blocks, view="home")
    shown = sum(1 for b in blocks if "accessory" in b)
    left_out = channels * per_channel - shown
    assert left_out > 0
    notes = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    assert any(f"and {left_out} more watch" in n for n in notes), notes
    if alerts > 15:
        assert any(f"and {alerts - 15} older open alert" in n for n in notes)


def test_a_small_workspace_leaves_nothing_out() -> None:
    blocks = home_view(overview(3, 4, alerts=3))["blocks"]
    assert isinstance(blocks, list)
    assert sum(1 for b in blocks if "accessory" in b) == 12
    assert not any("more watch" in str(b) for b in blocks)


def test_an_empty_workspace_says_how_to_begin() -> None:
    blocks = home_view(overview(0, 0))["blocks"]
    assert isinstance(blocks, list)
    assert_valid_for_slack_sdk(blocks, view="home")
    assert "No channel watches a destination yet" in str(blocks)


def test_names_from_the_api_are_escaped_in_the_view() -> None:
    view = overview(1, 1, name=HOSTILE)
    hostile_alert = stored(1, alert=make_alert(Event.FAILED, backup=make_backup(name=HOSTILE)))
    rendered = home_view(
        dataclasses.replace(view, open_alerts=(hostile_alert,), open_alert_total=1)
    )
    parsed = [text for text, plain in rendered_strings(rendered["blocks"]) if not plain]
    assert sum(HOSTILE_ESCAPED[:20] in text for text in parsed) >= 2  # the watch and the alert
    for text in parsed:
        assert "<!channel>" not in text and "<https://evil" not in text and "<@U123>" not in text


def test_a_report_comment_escapes_names_and_names_who_asked() -> None:
    backups = [
        make_backup(id=f"b{i}", name=f"{HOSTILE} {i}", created_at=NOW - timedelta(days=i))
        for i in range(1, 5)
    ]
    report = build_report(
        backups,
        destination_id="dest-1",
        destination_name=HOSTILE,
        until=NOW,
        days=7,
        source=ReportSource.STORE,
    )
    comment = report_comment(ReportMessage(report, requested_by="U0ASKER"))
    assert comment.startswith("*Backup report for &lt;!channel&gt;")
    assert "(asked for by <@U0ASKER>)" in comment
    assert "<!channel>" not in comment and "<https://evil" not in comment
    assert len(comment) <= 3500
    assert report_filename(report) == f"backup-report-dest-1-{NOW:%Y-%m-%d}.png"
    reply = report_reply(ReportMessage(report))
    assert_valid_for_slack_sdk(reply["blocks"])
    assert_inert(reply)
