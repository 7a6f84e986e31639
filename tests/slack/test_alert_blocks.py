"""Alert and watch rendering: content, escaping and Block Kit limits. Pure."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from bot.core.alerts import Alert
from bot.core.backups import Backup, BackupStatus, Destination, Ref, Schedule, ScheduleInterval
from bot.core.quiet_hours import QuietHours
from bot.core.watches import (
    DestinationSummary,
    Event,
    PollStatus,
    Watch,
    WatchSettings,
    WatchState,
)
from bot.slack import alert_blocks
from bot.slack.alert_blocks import MAX_ALERTS_PER_MESSAGE, AlertContext, AlertView
from bot.slack.alert_buttons import ALERT_ACTIONS
from bot.slack.mrkdwn import date

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
DEST = Destination(id="dest-1", name="Primary")
CONTEXT = AlertContext("dest-1", "Primary", WatchSettings())
HOSTILE = "<!channel> <@U123> <https://evil|click> & co"
HOSTILE_ESCAPED = "&lt;!channel&gt; &lt;@U123&gt; &lt;https://evil|click&gt; &amp; co"
DAILY_AT_2 = Schedule(ScheduleInterval.DAILY, minutes=(0,), hours=(2,))

Reply = dict[str, Any]


def make_backup(**overrides: Any) -> Backup:
    fields: dict[str, Any] = {
        "id": "b1",
        "name": "nightly-orders",
        "status": BackupStatus.FAILED,
        "status_text": "failed",
        "created_at": NOW - timedelta(hours=2),
        "completed_at": NOW - timedelta(hours=2) + timedelta(minutes=3, seconds=20),
        "expires_at": None,
        "size_bytes": 5 * 1024**3,
        "project": Ref("p1", "shop"),
        "addon": Ref("a1", "orders-db"),
        "addon_type": "postgresql",
        "addon_version": "16.2",
    }
    fields.update(overrides)
    return Backup(**fields)


def make_alert(event: Event, **overrides: Any) -> Alert:
    """A realistic alert of each kind; `overrides` replace its fields."""
    given = overrides.pop("backup", None)
    backup = given or _backup_for(event)
    fields: dict[str, Any] = {
        "event": event,
        "subject": backup.id,
        "destination_id": "dest-1",
        "occurred_at": NOW - timedelta(hours=1),
        "backup": backup,
        "addon": backup.addon,
        "project": backup.project,
    }
    if event is Event.MISSED:
        fields |= {
            "subject": "missed:a1:2026-01-01T02:00:00+00:00",
            # A missed alert may carry the addon's latest backup, when one is given.
            "backup": given,
            "expected_at": NOW - timedelta(hours=10),
            "schedule": DAILY_AT_2,
        }
    if event in (Event.NORTHFLANK_PROBLEM, Event.NORTHFLANK_RECOVERED):
        fields |= {
            "subject": "outage:2026-01-01T09:00:00+00:00",
            "backup": None,
            "addon": None,
            "project": None,
            "occurred_at": NOW - timedelta(hours=3),
            "problem": "Northflank answered 401 Unauthorized",
        }
    fields.update(overrides)
    return Alert(**fields)


def _backup_for(event: Event) -> Backup:
    if event is Event.ABORTED:
        return make_backup(status=BackupStatus.ABORTED, status_text="aborted")
    if event in (Event.EXPIRING, Event.RECOVERED):
        return make_backup(
            status=BackupStatus.COMPLETED,
            status_text="completed",
            expires_at=NOW + timedelta(days=2, hours=4),
        )
    if event is Event.STUCK:
        return make_backup(
            status=BackupStatus.IN_PROGRESS,
            status_text="in-progress",
            created_at=NOW - timedelta(hours=7, minutes=5),
            completed_at=None,
        )
    return make_backup()


def hostile_alert(event: Event, name: str = HOSTILE) -> Alert:
    backup = make_backup(
        name=name,
        status=BackupStatus.UNKNOWN,
        status_text=name,
        addon=Ref("a1", name),
        project=Ref("p1", name),
        addon_type=name,
        addon_version=name,
        expires_at=NOW + timedelta(days=1),
        completed_at=None if event is Event.STUCK else NOW - timedelta(hours=1),
    )
    alert = make_alert(event, backup=backup, problem=name)
    if event is Event.MISSED:
        every_minute = Schedule(
            ScheduleInterval.WEEKLY, tuple(range(60)), tuple(range(24)), tuple(range(7))
        )
        alert = dataclasses.replace(alert, schedule=every_minute)
    return alert


def render(*alerts: Alert, context: AlertContext = CONTEXT) -> Reply:
    return alert_blocks.alert_message([AlertView(a) for a in alerts], context, NOW)


def section_texts(reply: Reply) -> list[str]:
    return [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]


def header_text(reply: Reply) -> str:
    headers = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "header"]
    assert len(headers) == 1
    return str(headers[0])


def context_text(reply: Reply) -> str:
    contexts = [b for b in reply["blocks"] if b["type"] == "context"]
    return "\n".join(e["text"] for c in contexts for e in c["elements"])


def action_blocks(reply: Reply) -> list[dict[str, Any]]:
    return [b for b in reply["blocks"] if b["type"] == "actions"]


def everything(reply: Reply) -> str:
    return json.dumps(reply, ensure_ascii=False)


# ----- walking every string, for escaping and limits ---------------------------------------

_OWN_DATE = re.compile(r"<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9: -]+UTC>")
_ENTITY = re.compile(r"&(amp|lt|gt);")


def rendered_strings(node: Any, plain: bool = False) -> Iterator[tuple[str, bool]]:
    """Every string in a reply, and whether Slack shows it as plain_text (not parsed)."""
    if isinstance(node, str):
        yield node, plain
    elif isinstance(node, dict):
        is_plain = node.get("type") == "plain_text"
        for value in node.values():
            yield from rendered_strings(value, plain or is_plain)
    elif isinstance(node, list):
        for value in node:
            yield from rendered_strings(value, plain)


def assert_inert(reply: Reply, allowed_mentions: tuple[str, ...] = ()) -> None:
    """No string Slack parses can ping, link or mention, except our own date tokens."""
    parsed = [text for text, plain in rendered_strings(reply) if not plain]
    assert reply["text"] in parsed
    for text in parsed:
        rest = _OWN_DATE.sub("", text)
        for mention in allowed_mentions:
            rest = rest.replace(mention, "")
        assert "<" not in rest and ">" not in rest, text
        assert "&" not in _ENTITY.sub("", rest), text


def assert_within_limits(reply: Reply, total: int = 12_000) -> None:
    blocks = reply["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        elif block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        elif block["type"] == "context":
            assert len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 2000 for e in block["elements"])
        elif block["type"] == "actions":
            assert len(block["block_id"]) <= 255
            assert 0 < len(block["elements"]) <= 25
            for element in block["elements"]:
                assert_element_within_limits(element)
    assert reply["text"]
    assert len(everything(reply)) <= total


def assert_element_within_limits(element: dict[str, Any]) -> None:
    """Slack's limits for a button or a static select, and for a confirm dialog."""
    assert len(element["action_id"]) <= 255
    assert element["action_id"] in ALERT_ACTIONS
    if element["type"] == "button":
        assert len(element["text"]["text"]) <= 75
        assert 0 < len(element["value"]) <= 2000
    else:
        assert element["type"] == "static_select"
        assert len(element["placeholder"]["text"]) <= 150
        assert 0 < len(element["options"]) <= 100
        for option in element["options"]:
            assert len(option["text"]["text"]) <= 75
            assert len(option["value"]) <= 150
    confirm = element.get("confirm")
    if confirm is not None:
        assert len(confirm["title"]["text"]) <= 100
        assert len(confirm["text"]["text"]) <= 300
        assert len(confirm["confirm"]["text"]) <= 30
        assert len(confirm["deny"]["text"]) <= 30


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
        "destination *Primary* `dest-1` · events failed, aborted, expiring, stuck, missed"
        " · expiry 3d · stuck 6h · remind 1d"
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
        alert_blocks.alert_message([], CONTEXT, NOW)


# ----- resolved --------------------------------------------------------------------------------


def test_resolving_one_alert_changes_only_its_section() -> None:
    alerts = [
        make_alert(Event.FAILED, backup=make_backup(id=f"b{i}", name=f"backup-{i}"))
        for i in range(3)
    ]
    resolved_at = NOW + timedelta(hours=1)
    before = alert_blocks.alert_message([AlertView(a) for a in alerts], CONTEXT, NOW)
    after = alert_blocks.alert_message(
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
    reply = alert_blocks.alert_message([AlertView(alert, NOW)], CONTEXT, NOW)
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
    reply = alert_blocks.alert_message(views, CONTEXT, NOW)
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
    reply = alert_blocks.alert_message(views, CONTEXT, NOW)
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
    reply = alert_blocks.alert_message([view], CONTEXT, NOW)
    (section,) = section_texts(reply)
    assert section.endswith(f"\n:eyes: Acknowledged by <@U123ABC> {date(at)}")
    (actions,) = action_blocks(reply)
    ids = [e["action_id"] for e in actions["elements"]]
    assert "alert_acknowledge" not in ids
    assert "alert_snooze" in ids
    unacknowledged = alert_blocks.alert_message([AlertView(view.alert, alert_id=5)], CONTEXT, NOW)
    assert "Acknowledged" not in everything(unacknowledged)
    assert "alert_acknowledge" in everything(unacknowledged)
    assert_inert(reply, allowed_mentions=("<@U123ABC>",))


@pytest.mark.parametrize("user_id", ["<!channel>", "U1", "u123abc", "U123>", ""])
def test_a_malformed_acknowledger_is_someone(user_id: str) -> None:
    view = AlertView(
        make_alert(Event.FAILED), alert_id=5, acknowledged_by=user_id, acknowledged_at=NOW
    )
    reply = alert_blocks.alert_message([view], CONTEXT, NOW)
    assert f":eyes: Acknowledged by someone {date(NOW)}" in section_texts(reply)[0]
    assert "<@" not in everything(reply)
    assert_inert(reply)


def test_a_snooze_is_shown_while_it_runs() -> None:
    until = NOW + timedelta(hours=24)
    view = AlertView(make_alert(Event.STUCK), alert_id=5, snoozed_until=until, snoozed_by="W0ABC")
    (section,) = section_texts(alert_blocks.alert_message([view], CONTEXT, NOW))
    assert section.endswith(f"\n:zzz: Snoozed until {date(until)} by <@W0ABC>")
    later = alert_blocks.alert_message([view], CONTEXT, until)
    assert "Snoozed" not in everything(later)
    hostile = dataclasses.replace(view, snoozed_by="<!here>")
    hostile_reply = alert_blocks.alert_message([hostile], CONTEXT, NOW)
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
    lines = section_texts(alert_blocks.alert_message([view], CONTEXT, NOW))[0].split("\n")
    assert lines[0].startswith(":white_check_mark: Resolved")
    assert lines[-2].startswith(":eyes: Acknowledged by <@U123ABC>")
    assert lines[-1].startswith(":zzz: Snoozed until")


# ----- recovery ----------------------------------------------------------------------------


def test_recovery_names_the_good_backup_and_what_it_resolves() -> None:
    good = make_backup(id="b9", name="nightly-9", status=BackupStatus.COMPLETED)
    recovery = make_alert(Event.RECOVERED, backup=good)
    resolved = [
        make_alert(Event.FAILED, backup=make_backup(id="b7", name="nightly-7")),
        make_alert(Event.MISSED),
    ]
    reply = alert_blocks.recovery_reply(recovery, resolved, CONTEXT, NOW)
    (section,) = section_texts(reply)
    assert "addon *orders-db* has a good backup again" in section
    assert "*nightly-9*" in section
    assert f"completed {date(good.completed_at)}" in section
    assert "5.0 GiB" in section
    assert "This resolves failed *nightly-7* and missed *orders-db*." in section
    assert reply["text"] == "Recovered: orders-db completed backup nightly-9"


def test_northflank_recovery_says_polling_works_and_for_how_long_it_failed() -> None:
    problem = make_alert(Event.NORTHFLANK_PROBLEM)
    recovery = make_alert(Event.NORTHFLANK_RECOVERED, occurred_at=NOW, problem=None)
    reply = alert_blocks.recovery_reply(recovery, [problem], CONTEXT, NOW)
    (section,) = section_texts(reply)
    assert "Northflank answers again; polling *Primary* works." in section
    assert f"It had failed since {date(problem.occurred_at)}, for 3h." in section
    assert reply["text"] == "Northflank answers again; polling Primary works."


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


def test_recovery_text_from_the_api_is_inert() -> None:
    context = AlertContext(HOSTILE, HOSTILE, None)
    resolved = [hostile_alert(event) for event in (Event.FAILED, Event.STUCK, Event.MISSED)]
    for alert in (hostile_alert(Event.RECOVERED), hostile_alert(Event.NORTHFLANK_RECOVERED)):
        reply = alert_blocks.recovery_reply(alert, resolved, context, NOW)
        assert_inert(reply)
        assert HOSTILE_ESCAPED in everything(reply)


def test_watch_replies_are_inert() -> None:
    destination = Destination(HOSTILE, HOSTILE)
    hostile_backup = hostile_alert(Event.EXPIRING).backup
    assert hostile_backup is not None
    summary = DestinationSummary(
        total=3,
        counts={HOSTILE: 3},
        failing=(hostile_backup,),
        next_expiries=(hostile_backup,),
        complete=False,
    )
    replies = [
        alert_blocks.watch_summary(destination, WatchSettings(), summary, created=True, now=NOW),
        alert_blocks.watch_announcement(destination, WatchSettings(), HOSTILE),
    ]
    watch = make_watch(
        0,
        destination_id=HOSTILE,
        destination_name=HOSTILE,
        state=WatchState.BROKEN,
        state_reason=HOSTILE,
    )
    failing = PollStatus(HOSTILE, NOW, None, 2, NOW - timedelta(hours=1), HOSTILE)
    replies.append(alert_blocks.watching_list([(watch, failing)], NOW))
    for reply in replies:
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
            alert_blocks.alert_message([worst_view(alert)], WORST_CONTEXT, NOW)
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
    reply = alert_blocks.alert_message(views, WORST_CONTEXT, NOW)
    assert len(section_texts(reply)) == MAX_ALERTS_PER_MESSAGE
    assert len(action_blocks(reply)) == MAX_ALERTS_PER_MESSAGE
    assert_within_limits(reply, total=DIGEST_BUDGET + 500)
    assert blocks_size(reply) <= DIGEST_BUDGET


def test_max_alerts_per_message_is_the_most_the_heaviest_alert_fits() -> None:
    heaviest = heaviest_alert()

    def digest(count: int) -> Reply:
        views = [worst_view(heaviest, i) for i in range(count)]
        return alert_blocks.alert_message(views, WORST_CONTEXT, NOW)

    assert blocks_size(digest(MAX_ALERTS_PER_MESSAGE)) <= DIGEST_BUDGET
    assert_within_limits(digest(MAX_ALERTS_PER_MESSAGE), total=DIGEST_BUDGET + 500)
    # One more would not fit: the constant is as large as it safely can be.
    assert blocks_size(digest(MAX_ALERTS_PER_MESSAGE + 1)) > DIGEST_BUDGET


@pytest.mark.parametrize("event", ALL_EVENTS)
def test_a_single_worst_case_alert_stays_in_limits(event: Event) -> None:
    context = AlertContext("d" * 300, "&" * 300, None)
    reply = render(hostile_alert(event, "&" * 300), context=context)
    assert_within_limits(reply, total=3_000)
    with_buttons = alert_blocks.alert_message(
        [worst_view(hostile_alert(event, "&" * 300))], WORST_CONTEXT, NOW
    )
    assert_within_limits(with_buttons, total=3_500)


def test_grouping_keeps_every_alert_once_in_order_within_limits() -> None:
    alerts = worst_case_alerts(200)
    groups = alert_blocks.group_for_digest(alerts)
    assert [alert for group in groups for alert in group] == alerts
    assert all(1 <= len(group) <= MAX_ALERTS_PER_MESSAGE for group in groups)
    for group in groups:
        reply = alert_blocks.alert_message([AlertView(a) for a in group], CONTEXT, NOW)
        assert_within_limits(reply, total=10_000)


def test_grouping_with_buttons_stays_within_limits() -> None:
    groups = alert_blocks.group_for_digest(worst_case_alerts(50))
    assert sum(len(group) for group in groups) == 50
    for group in groups:
        views = [worst_view(alert, i) for i, alert in enumerate(group)]
        reply = alert_blocks.alert_message(views, WORST_CONTEXT, NOW)
        assert_within_limits(reply, total=DIGEST_BUDGET + 500)


def test_grouping_is_even_and_an_empty_poll_makes_no_message() -> None:
    alerts = [make_alert(Event.FAILED, subject=str(i)) for i in range(MAX_ALERTS_PER_MESSAGE + 1)]
    sizes = [len(group) for group in alert_blocks.group_for_digest(alerts)]
    assert sum(sizes) == len(alerts) and len(sizes) == 2 and max(sizes) - min(sizes) <= 1
    assert alert_blocks.group_for_digest(alerts[:1]) == [alerts[:1]]
    assert alert_blocks.group_for_digest([]) == []


# ----- watch and the announcement --------------------------------------------------------------


def summary(**overrides: Any) -> DestinationSummary:
    fields: dict[str, Any] = {
        "total": 1234,
        "counts": {"completed": 1200, "failed": 31, "aborted": 3},
        "failing": (make_backup(),),
        "next_expiries": tuple(
            make_backup(
                id=f"e{i}",
                name=f"expiring-{i}",
                status=BackupStatus.COMPLETED,
                expires_at=NOW + timedelta(hours=i + 1),
            )
            for i in range(5)
        ),
    }
    fields.update(overrides)
    return DestinationSummary(**fields)


def test_watch_summary_gives_counts_failing_addons_expiries_and_settings() -> None:
    reply = alert_blocks.watch_summary(DEST, WatchSettings(), summary(), created=True, now=NOW)
    text = "\n".join(section_texts(reply))
    assert text.startswith("This channel now watches *Primary* `dest-1`.")
    assert "1,234 backups: 1,200 completed, 31 failed, 3 aborted" in text
    assert "*Failing now* (1 addon):" in text
    assert ":x: addon *orders-db*: *nightly-orders* `failed`" in text
    assert "*expiring-0*" in text and "*expiring-2*" in text
    assert "expiring-3" not in text
    assert f"expires in 1h ({date(NOW + timedelta(hours=1))})" in text
    assert "still reading" not in text
    assert "I'll post when a backup fails, is aborted, will expire within 3d" in text
    assert "settings: events failed, aborted, expiring, stuck, missed · expiry 3d" in (
        context_text(reply)
    )
    assert reply["text"] == "This channel now watches Primary."


def test_watch_summary_for_changed_settings_and_nothing_failing() -> None:
    reply = alert_blocks.watch_summary(
        DEST, WatchSettings(), summary(failing=()), created=False, now=NOW
    )
    text = "\n".join(section_texts(reply))
    assert "now watches *Primary* `dest-1` with new settings" in text
    assert "No addon is failing now." in text
    assert reply["text"] == "This channel now watches Primary with new settings."


def test_watch_summary_says_when_older_backups_are_still_being_read() -> None:
    reply = alert_blocks.watch_summary(
        DEST, WatchSettings(), summary(complete=False), created=True, now=NOW
    )
    assert "still reading the older backups" in "\n".join(section_texts(reply))


def test_watch_summary_with_many_failing_addons_stays_in_limits() -> None:
    failing = tuple(make_backup(id=f"f{i}", name="&" * 300) for i in range(200))
    big = summary(failing=failing, counts={"&" * 300 + str(i): i for i in range(20)})
    reply = alert_blocks.watch_summary(DEST, WatchSettings(), big, created=True, now=NOW)
    assert_within_limits(reply)
    assert "…and 190 more." in "\n".join(section_texts(reply))


def test_announcement_mentions_the_user_and_the_settings() -> None:
    settings = WatchSettings(events=frozenset({Event.FAILED, Event.EXPIRING}))
    reply = alert_blocks.watch_announcement(DEST, settings, "U123ABC")
    (section,) = section_texts(reply)
    assert section.startswith("<@U123ABC> asked me to watch *Primary* here: ")
    assert "I'll post when a backup fails or will expire within 3d." in section
    assert reply["text"] == "<@U123ABC> asked me to watch Primary here."
    assert_inert(reply, allowed_mentions=("<@U123ABC>",))


@pytest.mark.parametrize("user_id", ["<!channel>", "U1", "u123abc", "U123>", "X123", "", "U" * 30])
def test_announcement_with_a_bad_user_id_says_someone(user_id: str) -> None:
    reply = alert_blocks.watch_announcement(DEST, WatchSettings(), user_id)
    assert reply["text"].lower().startswith("someone asked me to watch")
    assert "<@" not in everything(reply)
    assert_inert(reply)


def test_announcement_with_no_backup_events_still_says_what_it_posts() -> None:
    settings = WatchSettings(events=frozenset())
    (section,) = section_texts(alert_blocks.watch_announcement(DEST, settings, "W0ABC"))
    assert "only post if I can't read this destination from Northflank" in section


# ----- watching --------------------------------------------------------------------------------


def make_watch(index: int, **overrides: Any) -> Watch:
    fields: dict[str, Any] = {
        "id": index,
        "channel": "C1",
        "destination_id": f"dest-{index}",
        "destination_name": f"Destination {index}",
        "settings": WatchSettings(),
        "started_at": NOW - timedelta(days=1),
        "created_by": "U1",
    }
    fields.update(overrides)
    return Watch(**fields)


def polled(minutes_ago: int, **overrides: Any) -> PollStatus:
    fields: dict[str, Any] = {
        "destination_id": "dest-0",
        "last_poll_at": NOW - timedelta(minutes=minutes_ago),
        "last_success_at": NOW - timedelta(minutes=minutes_ago),
    }
    fields.update(overrides)
    return PollStatus(**fields)


def test_no_watches_explains_how_to_start() -> None:
    reply = alert_blocks.watching_list([], NOW)
    assert "`/backups watch DEST`" in section_texts(reply)[0]
    assert "no backup destination" in reply["text"]


def test_watching_shows_settings_and_last_poll() -> None:
    reply = alert_blocks.watching_list([(make_watch(0), polled(3)), (make_watch(1), None)], NOW)
    text = "\n".join(section_texts(reply))
    assert "*Destination 0* `dest-0`\nevents failed, aborted, expiring, stuck, missed" in text
    assert "last polled 3m ago" in text
    assert "*Destination 1* `dest-1`" in text
    assert "not polled yet" in text
    assert reply["text"] == "This channel watches 2 backup destinations."


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"state": WatchState.BROKEN, "state_reason": "not_in_channel"},
            ":warning: I can't post here: not_in_channel",
        ),
        (
            {"state": WatchState.DISABLED, "state_reason": "is_archived"},
            ":no_entry: Disabled, I no longer poll for this channel: is_archived",
        ),
        (
            {"muted_until": NOW + timedelta(hours=8)},
            f":mute: muted until {date(NOW + timedelta(hours=8))} (in 8h)",
        ),
    ],
)
def test_watching_shows_state_and_its_reason(overrides: dict[str, Any], expected: str) -> None:
    reply = alert_blocks.watching_list([(make_watch(0, **overrides), polled(0))], NOW)
    assert expected in "\n".join(section_texts(reply))


def test_watching_does_not_show_a_mute_that_has_ended() -> None:
    watch = make_watch(0, muted_until=NOW - timedelta(minutes=1))
    reply = alert_blocks.watching_list([(watch, polled(0))], NOW)
    assert "muted" not in everything(reply)
    assert "last polled just now" in everything(reply)


def test_watching_shows_failing_polls_with_the_last_error() -> None:
    status = polled(
        2,
        consecutive_failures=4,
        failing_since=NOW - timedelta(minutes=20),
        last_error="HTTP 503 from Northflank",
    )
    reply = alert_blocks.watching_list([(make_watch(0), status)], NOW)
    assert (
        f":warning: the last 4 polls failed since {date(NOW - timedelta(minutes=20))}: "
        "HTTP 503 from Northflank"
    ) in "\n".join(section_texts(reply))


def test_fifty_ordinary_watches_are_all_shown_in_full() -> None:
    items = [(make_watch(i), polled(i)) for i in range(50)]
    reply = alert_blocks.watching_list(items, NOW)
    assert_within_limits(reply)
    text = "\n".join(section_texts(reply))
    assert all(f"*Destination {i}* `dest-{i}`\nevents" in text for i in range(50))


def test_fifty_worst_case_watches_stay_in_limits_and_are_all_accounted_for() -> None:
    long = "&" * 300
    items = [
        (
            make_watch(
                i,
                destination_name=long,
                destination_id=f"{i}-" + "d" * 300,
                state=WatchState.BROKEN,
                state_reason=long,
                muted_until=NOW + timedelta(days=1),
            ),
            polled(5, consecutive_failures=9, failing_since=NOW, last_error=long),
        )
        for i in range(50)
    ]
    reply = alert_blocks.watching_list(items, NOW)
    assert_within_limits(reply)
    text = "\n".join(section_texts(reply))
    shown = sum(text.count(f"`{i}-ddd") for i in range(50))
    more = re.search(r"…and (\d+) more watches\.", text)
    assert more is not None
    assert shown + int(more.group(1)) == 50


def test_settings_words_name_reminders_only_for_events_that_get_them() -> None:
    def words(**overrides: Any) -> str:
        watch = make_watch(0, settings=WatchSettings(**overrides))
        return "\n".join(section_texts(alert_blocks.watching_list([(watch, None)], NOW)))

    assert "· remind 1d" in words()
    assert "· no reminders" in words(remind=None)
    assert "remind" not in words(events=frozenset({Event.ABORTED, Event.EXPIRING}))
    assert "reminders" not in words(events=frozenset({Event.EXPIRING}), remind=None)
    assert "quiet" not in words()
    quiet = QuietHours(time(22), time(7), "Europe/Berlin")
    assert "· remind 1d · quiet 22:00–07:00 Europe/Berlin" in words(quiet=quiet)


def test_watch_sentence_explains_reminders_and_quiet_hours() -> None:
    def sentence(**overrides: Any) -> str:
        reply = alert_blocks.watch_announcement(DEST, WatchSettings(**overrides), "U1AB")
        (section,) = section_texts(reply)
        return section

    assert (
        "Until someone acknowledges a failed, stuck or missed alert, I'll remind its thread "
        "every 1d."
    ) in sentence()
    assert "Until someone acknowledges a stuck alert, I'll remind its thread every 12h." in (
        sentence(events=frozenset({Event.STUCK, Event.EXPIRING}), remind=timedelta(hours=12))
    )
    assert "I won't send reminders about open alerts." in sentence(remind=None)
    assert "remind" not in sentence(events=frozenset({Event.ABORTED}))
    quiet = QuietHours(time(22), time(7), "Europe/Berlin")
    held = (
        "During quiet hours (22:00–07:00 Europe/Berlin) I hold alerts and post them together "
        "when the quiet hours end."
    )
    assert held in sentence(quiet=quiet)
    assert held in sentence(quiet=quiet, events=frozenset())
    assert "quiet" not in sentence()


def test_watch_summary_says_how_to_change_reminders_and_quiet_hours() -> None:
    quiet = QuietHours(time(22), time(7), "Europe/Berlin")
    reply = alert_blocks.watch_summary(
        DEST, WatchSettings(quiet=quiet), summary(), created=True, now=NOW
    )
    context = context_text(reply)
    assert "settings: events failed, aborted, expiring, stuck, missed · expiry 3d" in context
    assert "remind 1d · quiet 22:00–07:00 Europe/Berlin" in context
    assert "`/backups watch DEST events=… expiry=… stuck=… remind=… quiet=…`" in context


def test_announcement_words_for_backup_and_schedule_events() -> None:
    settings = WatchSettings(events=frozenset({Event.STUCK, Event.MISSED}))
    (section,) = section_texts(alert_blocks.watch_announcement(DEST, settings, "U1AB"))
    assert (
        "I'll post when a backup is stuck for over 6h, and when an addon misses a scheduled "
        "backup. When the addon has a good backup again, I'll say so in the alert's thread."
    ) in section


def test_missed_alert_with_the_latest_backup_shows_it() -> None:
    latest = make_backup(name="nightly-old", status_text="completed")
    (section,) = section_texts(render(make_alert(Event.MISSED, backup=latest)))
    assert "(postgresql 16.2) · project *shop*" in section
    assert f"latest backup *nightly-old* `completed` created {date(latest.created_at)}" in section
