"""An alert digest's channel message: content, buttons, escaping and Block Kit limits. Pure."""

from __future__ import annotations

import dataclasses
import json
from datetime import time, timedelta

import pytest

from bot.core.alerts import Alert
from bot.core.backups import Schedule, ScheduleInterval
from bot.core.digests import MAX_ALERTS_PER_MESSAGE, group_for_digest
from bot.core.messages import AlertContext, AlertView
from bot.core.quiet_hours import QuietHours
from bot.core.watches import (
    Event,
    WatchSettings,
)
from bot.slack.render import alert_message
from bot.slack.render.mrkdwn import date
from tests.slack.render.examples import (
    CONTEXT,
    HOSTILE,
    HOSTILE_ESCAPED,
    NOW,
    Reply,
    action_blocks,
    assert_inert,
    assert_within_limits,
    context_text,
    everything,
    header_text,
    hostile_alert,
    make_alert,
    make_backup,
    render,
    section_texts,
)

# ----- one alert of each kind ---------------------------------------------------------------


def test_failed_alert_names_the_backup_and_every_fact() -> None:
    reply = render(make_alert(Event.FAILED))
    assert header_text(reply) == "Backup failed: nightly-orders"
    (section,) = section_texts(reply)
    assert section.startswith(":x: *Failed* · *nightly-orders*")
    assert "addon *orders-db* (postgresql 16.2) · project *shop*" in section
    assert "status `failed` · 5.0 GiB" in section
    assert f"created {date(NOW - timedelta(hours=2))}" in section
    completed = NOW - timedelta(hours=2) + timedelta(minutes=3, seconds=20)
    assert f"completed {date(completed)}" in section
    assert "took 3m 20s" in section
    assert reply["text"] == "Backup failed: nightly-orders in Primary"


def test_aborted_alert_says_aborted() -> None:
    reply = render(make_alert(Event.ABORTED))
    assert header_text(reply) == "Backup aborted: nightly-orders"
    (section,) = section_texts(reply)
    assert section.startswith(":no_entry_sign: *Aborted*")
    assert "status `aborted`" in section


def test_expiring_alert_says_when_it_expires() -> None:
    reply = render(make_alert(Event.EXPIRING))
    assert header_text(reply) == "Backup expiring soon: nightly-orders"
    (section,) = section_texts(reply)
    assert f"expires in 2d 4h ({date(NOW + timedelta(days=2, hours=4))})" in section
    assert "status `completed`" in section


def test_stuck_alert_says_how_long_it_has_been_in_its_status() -> None:
    reply = render(make_alert(Event.STUCK))
    (section,) = section_texts(reply)
    assert "still `in-progress` 7h 5m after it was created" in section
    assert f"created {date(NOW - timedelta(hours=7, minutes=5))}" in section
    assert "not finished" in section
    assert "completed <!date" not in section


def test_missed_alert_names_the_addon_schedule_and_due_time() -> None:
    reply = render(make_alert(Event.MISSED))
    assert header_text(reply) == "Scheduled backup missed: orders-db"
    (section,) = section_texts(reply)
    assert section.startswith(":alarm_clock: *Missed* · addon *orders-db*")
    assert "\nproject *shop*\n" in section
    assert "schedule: daily at 02:00 UTC" in section
    assert f"was due {date(NOW - timedelta(hours=10))} (10h ago)" in section
    assert reply["text"] == "Scheduled backup missed: orders-db in Primary"


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (Schedule(ScheduleInterval.DAILY, (0,), (2,)), "daily at 02:00 UTC"),
        (Schedule(ScheduleInterval.HOURLY, (15, 45)), "hourly at :15 and :45"),
        (
            Schedule(ScheduleInterval.WEEKLY, (30,), (18,), (0, 3)),
            "weekly on Mon, Thu at 18:30 UTC",
        ),
        (Schedule(ScheduleInterval.DAILY, (0, 30), (1, 13)), "daily at 01:00, 01:30, 13:00 and"),
        (
            Schedule(ScheduleInterval.HOURLY, tuple(range(0, 60, 5))),
            "hourly at :00, :05, :10, :15, :20, :25 and 6 more times",
        ),
        (None, "schedule: its backup schedule"),
    ],
)
def test_missed_schedule_in_words(schedule: Schedule | None, words: str) -> None:
    (section,) = section_texts(render(make_alert(Event.MISSED, schedule=schedule)))
    assert words in section


def test_northflank_problem_says_what_is_wrong_and_what_to_check() -> None:
    reply = render(make_alert(Event.NORTHFLANK_PROBLEM))
    assert header_text(reply) == "Can't read Northflank: Primary"
    (section,) = section_texts(reply)
    assert "destination *Primary*" in section
    assert "Northflank answered 401 Unauthorized" in section
    assert f"failing since {date(NOW - timedelta(hours=3))} (3h ago)" in section
    for advice in (
        "NORTHFLANK_API_TOKEN",
        "*Account &gt; BackupDestinations &gt; General &gt; Read*",
        "destination `dest-1` still exists",
        "status.northflank.com",
    ):
        assert advice in section
    assert reply["text"] == "Can't read Northflank: Primary"


def test_context_line_shows_destination_and_settings_compactly() -> None:
    default = context_text(render(make_alert(Event.FAILED)))
    assert default == (
        "destination *Primary* `dest-1` · events failed, aborted, expiring, stuck, missed,"
        " anomaly · expiry 3d · stuck 6h · remind 1d"
    )
    settings = WatchSettings(
        events=frozenset({Event.FAILED, Event.STUCK}),
        expiry=timedelta(hours=36),
        stuck=timedelta(minutes=90),
        remind=timedelta(hours=12),
        quiet=QuietHours(time(22), time(7), "Europe/Berlin"),
    )
    custom = context_text(
        render(make_alert(Event.FAILED), context=AlertContext("d", "D", settings))
    )
    assert custom == (
        "destination *D* `d` · events failed, stuck · stuck 1h30m · remind 12h"
        " · quiet 22:00–07:00 Europe/Berlin"
    )
    settings = WatchSettings(expiry=timedelta(hours=36))
    assert "expiry 1d12h" in context_text(
        render(make_alert(Event.FAILED), context=AlertContext("d", "D", settings))
    )


def test_context_line_when_the_watch_was_removed() -> None:
    reply = render(make_alert(Event.FAILED), context=AlertContext("d", "D", None))
    assert context_text(reply) == "destination *D* `d` · no longer watched in this channel"


def test_digest_has_one_section_per_alert_in_order() -> None:
    alerts = [
        make_alert(Event.FAILED, backup=make_backup(id="b1", name="first")),
        make_alert(Event.EXPIRING),
        make_alert(Event.FAILED, backup=make_backup(id="b3", name="third")),
    ]
    reply = render(*alerts)
    assert header_text(reply) == "3 backup alerts · Primary"
    sections = section_texts(reply)
    assert len(sections) == 3
    assert sections[0].startswith(":x: *Failed* · *first*")
    assert sections[1].startswith(":hourglass: *Expiring* · *nightly-orders*")
    assert sections[2].startswith(":x: *Failed* · *third*")
    assert [b["type"] for b in reply["blocks"]] == ["header", *["section"] * 3, "context"]
    assert reply["text"] == "3 backup alerts in Primary: 2 failed, 1 expiring"


def test_an_empty_digest_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        alert_message.alert_message([], CONTEXT, NOW)


# ----- resolved --------------------------------------------------------------------------------


def test_resolving_one_alert_changes_only_its_section() -> None:
    alerts = [
        make_alert(Event.FAILED, backup=make_backup(id=f"b{i}", name=f"backup-{i}"))
        for i in range(3)
    ]
    resolved_at = NOW + timedelta(hours=1)
    before = alert_message.alert_message([AlertView(a) for a in alerts], CONTEXT, NOW)
    after = alert_message.alert_message(
        [AlertView(alerts[0]), AlertView(alerts[1], resolved_at), AlertView(alerts[2])],
        CONTEXT,
        NOW,
    )
    old, new = section_texts(before), section_texts(after)
    assert old[0] == new[0] and old[2] == new[2]
    assert old[1] != new[1]
    assert new[1].startswith(f":white_check_mark: Resolved {date(resolved_at)}\n")
    assert ":x: ~*Failed* · *backup-1*~" in new[1]
    assert "~" not in old[1]
    assert header_text(before) == header_text(after)
    assert context_text(before) == context_text(after)
    assert after["text"].endswith("(1 resolved)")


def test_a_resolved_single_alert_says_so_in_its_header() -> None:
    alert = make_alert(Event.STUCK)
    reply = alert_message.alert_message([AlertView(alert, NOW)], CONTEXT, NOW)
    assert header_text(reply) == "Resolved: Backup stuck: nightly-orders"
    assert reply["text"].startswith("Resolved: Backup stuck")
    assert "Resolved" not in header_text(render(alert))


# ----- buttons, acknowledgements and snoozes ------------------------------------------------


def test_each_alert_has_its_buttons_right_after_its_section() -> None:
    alerts = [
        make_alert(Event.FAILED, backup=make_backup(id=f"b{i}", name=f"backup-{i}"))
        for i in range(3)
    ]
    views = [AlertView(alert, alert_id=40 + i) for i, alert in enumerate(alerts)]
    reply = alert_message.alert_message(views, CONTEXT, NOW)
    assert [b["type"] for b in reply["blocks"]] == [
        "header",
        *["section", "actions"] * 3,
        "context",
    ]
    assert [b["block_id"] for b in action_blocks(reply)] == [
        "alert_actions:40",
        "alert_actions:41",
        "alert_actions:42",
    ]
    values = [e["value"] for e in action_blocks(reply)[1]["elements"] if e["type"] == "button"]
    assert values and set(values) == {"41"}


def test_an_alert_without_a_ledger_id_has_no_buttons() -> None:
    views = [AlertView(make_alert(Event.FAILED)), AlertView(make_alert(Event.STUCK), alert_id=7)]
    reply = alert_message.alert_message(views, CONTEXT, NOW)
    assert [b["type"] for b in reply["blocks"]] == [
        "header",
        "section",
        "section",
        "actions",
        "context",
    ]
    assert action_blocks(reply)[0]["block_id"] == "alert_actions:7"


def test_an_acknowledged_alert_says_who_and_when_and_loses_its_acknowledge_button() -> None:
    at = NOW - timedelta(minutes=20)
    view = AlertView(
        make_alert(Event.FAILED), alert_id=5, acknowledged_by="U123ABC", acknowledged_at=at
    )
    reply = alert_message.alert_message([view], CONTEXT, NOW)
    (section,) = section_texts(reply)
    assert section.endswith(f"\n:eyes: Acknowledged by <@U123ABC> {date(at)}")
    (actions,) = action_blocks(reply)
    ids = [e["action_id"] for e in actions["elements"]]
    assert "alert_acknowledge" not in ids
    assert "alert_snooze" in ids
    unacknowledged = alert_message.alert_message([AlertView(view.alert, alert_id=5)], CONTEXT, NOW)
    assert "Acknowledged" not in everything(unacknowledged)
    assert "alert_acknowledge" in everything(unacknowledged)
    assert_inert(reply, allowed_mentions=("<@U123ABC>",))


@pytest.mark.parametrize("user_id", ["<!channel>", "U1", "u123abc", "U123>", ""])
def test_a_malformed_acknowledger_is_someone(user_id: str) -> None:
    view = AlertView(
        make_alert(Event.FAILED), alert_id=5, acknowledged_by=user_id, acknowledged_at=NOW
    )
    reply = alert_message.alert_message([view], CONTEXT, NOW)
    assert f":eyes: Acknowledged by someone {date(NOW)}" in section_texts(reply)[0]
    assert "<@" not in everything(reply)
    assert_inert(reply)


def test_a_snooze_is_shown_while_it_runs() -> None:
    until = NOW + timedelta(hours=24)
    view = AlertView(make_alert(Event.STUCK), alert_id=5, snoozed_until=until, snoozed_by="W0ABC")
    (section,) = section_texts(alert_message.alert_message([view], CONTEXT, NOW))
    assert section.endswith(f"\n:zzz: Snoozed until {date(until)} by <@W0ABC>")
    later = alert_message.alert_message([view], CONTEXT, until)
    assert "Snoozed" not in everything(later)
    hostile = dataclasses.replace(view, snoozed_by="<!here>")
    hostile_reply = alert_message.alert_message([hostile], CONTEXT, NOW)
    assert f":zzz: Snoozed until {date(until)} by someone" in section_texts(hostile_reply)[0]
    assert_inert(hostile_reply)


def test_acknowledged_and_snoozed_lines_follow_the_alert_in_a_resolved_one_too() -> None:
    view = AlertView(
        make_alert(Event.FAILED),
        resolved_at=NOW,
        alert_id=5,
        acknowledged_by="U123ABC",
        acknowledged_at=NOW - timedelta(hours=1),
        snoozed_until=NOW + timedelta(hours=1),
        snoozed_by="U123ABC",
    )
    lines = section_texts(alert_message.alert_message([view], CONTEXT, NOW))[0].split("\n")
    assert lines[0].startswith(":white_check_mark: Resolved")
    assert lines[-2].startswith(":eyes: Acknowledged by <@U123ABC>")
    assert lines[-1].startswith(":zzz: Snoozed until")


# ----- escaping ------------------------------------------------------------------------------

ALL_EVENTS = list(Event)


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_alert_text_from_the_api_is_inert(event: Event) -> None:
    context = AlertContext(HOSTILE, HOSTILE, WatchSettings())
    for reply in (
        render(hostile_alert(event), context=context),
        render(hostile_alert(event), hostile_alert(event), context=context),
    ):
        assert_inert(reply)
        assert HOSTILE_ESCAPED in everything(reply)


def test_the_inertness_check_catches_a_raw_name() -> None:
    raw = {"text": HOSTILE, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]}
    with pytest.raises(AssertionError):
        assert_inert(raw)


# ----- limits --------------------------------------------------------------------------------


def worst_case_alerts(count: int) -> list[Alert]:
    names = ["&" * 300, "<" * 300, "x" * 300]
    return [hostile_alert(ALL_EVENTS[i % len(ALL_EVENTS)], names[i % 3]) for i in range(count)]


# The longest time zone name there is, and the longest user ids mrkdwn.mention accepts.
WORST_SETTINGS = WatchSettings(
    remind=timedelta(days=1, hours=23, minutes=59),
    quiet=QuietHours(time(22, 59), time(7, 59), "America/Argentina/ComodRivadavia"),
)
WORST_CONTEXT = AlertContext("d" * 300, "&" * 300, WORST_SETTINGS, write_buttons=True)
# Slack refused messages of about 13k characters; a digest stays 3k below.
DIGEST_BUDGET = 10_000


def worst_view(alert: Alert, index: int = 0, *, acknowledged: bool = False) -> AlertView:
    """An open alert with every line and button it can have, and the longest ids."""
    return AlertView(
        alert,
        alert_id=10**17 + index,
        acknowledged_by="U" + "A" * 20 if acknowledged else None,
        acknowledged_at=NOW if acknowledged else None,
        snoozed_until=NOW + timedelta(days=7),
        snoozed_by="W" + "B" * 20,
    )


def blocks_size(reply: Reply) -> int:
    return len(json.dumps(reply["blocks"], ensure_ascii=False))


def heaviest_alert() -> Alert:
    """The alert whose section and buttons together are the longest."""
    candidates = [
        hostile_alert(event, name * 300)
        for event in ALL_EVENTS
        for name in ("&", "<", "x")
        if event not in (Event.RECOVERED, Event.NORTHFLANK_RECOVERED)
    ]
    return max(
        candidates,
        key=lambda alert: blocks_size(
            alert_message.alert_message([worst_view(alert)], WORST_CONTEXT, NOW)
        ),
    )


@pytest.mark.parametrize("acknowledged", [False, True])
def test_a_worst_case_digest_with_every_button_stays_far_under_slack_limits(
    acknowledged: bool,
) -> None:
    views = [
        worst_view(alert, i, acknowledged=acknowledged)
        for i, alert in enumerate(worst_case_alerts(MAX_ALERTS_PER_MESSAGE))
    ]
    reply = alert_message.alert_message(views, WORST_CONTEXT, NOW)
    assert len(section_texts(reply)) == MAX_ALERTS_PER_MESSAGE
    assert len(action_blocks(reply)) == MAX_ALERTS_PER_MESSAGE
    assert_within_limits(reply, total=DIGEST_BUDGET + 500)
    assert blocks_size(reply) <= DIGEST_BUDGET


def test_max_alerts_per_message_is_the_most_the_heaviest_alert_fits() -> None:
    heaviest = heaviest_alert()

    def digest(count: int) -> Reply:
        views = [worst_view(heaviest, i) for i in range(count)]
        return alert_message.alert_message(views, WORST_CONTEXT, NOW)

    assert blocks_size(digest(MAX_ALERTS_PER_MESSAGE)) <= DIGEST_BUDGET
    assert_within_limits(digest(MAX_ALERTS_PER_MESSAGE), total=DIGEST_BUDGET + 500)
    # One more would not fit: the constant is as large as it safely can be.
    assert blocks_size(digest(MAX_ALERTS_PER_MESSAGE + 1)) > DIGEST_BUDGET


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_a_single_worst_case_alert_stays_in_limits(event: Event) -> None:
    context = AlertContext("d" * 300, "&" * 300, None)
    reply = render(hostile_alert(event, "&" * 300), context=context)
    assert_within_limits(reply, total=3_000)
    with_buttons = alert_message.alert_message(
        [worst_view(hostile_alert(event, "&" * 300))], WORST_CONTEXT, NOW
    )
    assert_within_limits(with_buttons, total=3_500)


def test_grouping_keeps_every_alert_once_in_order_within_limits() -> None:
    alerts = worst_case_alerts(200)
    groups = group_for_digest(alerts)
    assert [alert for group in groups for alert in group] == alerts
    assert all(1 <= len(group) <= MAX_ALERTS_PER_MESSAGE for group in groups)
    for group in groups:
        reply = alert_message.alert_message([AlertView(a) for a in group], CONTEXT, NOW)
        assert_within_limits(reply, total=10_000)


def test_grouping_with_buttons_stays_within_limits() -> None:
    groups = group_for_digest(worst_case_alerts(50))
    assert sum(len(group) for group in groups) == 50
    for group in groups:
        views = [worst_view(alert, i) for i, alert in enumerate(group)]
        reply = alert_message.alert_message(views, WORST_CONTEXT, NOW)
        assert_within_limits(reply, total=DIGEST_BUDGET + 500)


def test_grouping_is_even_and_an_empty_poll_makes_no_message() -> None:
    alerts = [make_alert(Event.FAILED, subject=str(i)) for i in range(MAX_ALERTS_PER_MESSAGE + 1)]
    sizes = [len(group) for group in group_for_digest(alerts)]
    assert sum(sizes) == len(alerts) and len(sizes) == 2 and max(sizes) - min(sizes) <= 1
    assert group_for_digest(alerts[:1]) == [alerts[:1]]
    assert group_for_digest([]) == []


def test_missed_alert_with_the_latest_backup_shows_it() -> None:
    latest = make_backup(name="nightly-old", status_text="completed")
    (section,) = section_texts(render(make_alert(Event.MISSED, backup=latest)))
    assert "(postgresql 16.2) · project *shop*" in section
    assert f"latest backup *nightly-old* `completed` created {date(latest.created_at)}" in section
