"""The buttons under an alert: which show, what they carry, and reading presses back. Pure."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest

from bot.core.audit import WRITE_ACTIONS, AuditAction
from bot.core.backups import Ref
from bot.core.messages import AlertContext, AlertView
from bot.core.watches import Event, WatchSettings
from bot.slack.render import alert_buttons
from bot.slack.render.alert_buttons import (
    ABORT_ACTION,
    ACKNOWLEDGE_ACTION,
    ALERT_ACTIONS,
    RETAIN_ACTION,
    SHOW_BACKUPS_ACTION,
    SNOOZE_ACTION,
    SNOOZE_CHOICES,
    START_BACKUP_ACTION,
    AlertButtons,
    actions_block,
    buttons_for,
    parse_alert_id,
    parse_snooze_value,
)
from bot.slack.render.alert_message import alert_message
from tests.slack.render.examples import (
    NOW,
    assert_element_within_limits,
    assert_inert,
    hostile_alert,
    make_alert,
    make_backup,
)

ADMINS = AlertContext("dest-1", "Primary", WatchSettings(), write_buttons=True)
NO_ADMINS = AlertContext("dest-1", "Primary", WatchSettings(), write_buttons=False)
WRITES = {RETAIN_ACTION, START_BACKUP_ACTION, ABORT_ACTION}
EVERYONE = {ACKNOWLEDGE_ACTION, SNOOZE_ACTION, SHOW_BACKUPS_ACTION}
ALERT_EVENTS = [e for e in Event if e not in (Event.RECOVERED, Event.NORTHFLANK_RECOVERED)]


def view(alert: Any = None, **overrides: Any) -> AlertView:
    fields: dict[str, Any] = {"alert": alert or make_alert(Event.FAILED), "alert_id": 42}
    fields.update(overrides)
    return AlertView(**fields)


def shown(alert_view: AlertView, context: AlertContext = ADMINS) -> set[str]:
    """The action ids of the buttons an alert shows, read from its rendered block."""
    block = actions_block(buttons_for(alert_view, context), alert_view)
    return {e["action_id"] for e in block["elements"]} if block else set()


def element(alert_view: AlertView, action_id: str) -> dict[str, Any]:
    block = actions_block(buttons_for(alert_view, ADMINS), alert_view)
    assert block is not None
    found: list[dict[str, Any]] = [e for e in block["elements"] if e["action_id"] == action_id]
    assert len(found) == 1
    return found[0]


# ----- which buttons show --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "write"),
    [
        (Event.FAILED, START_BACKUP_ACTION),
        (Event.ABORTED, None),
        (Event.EXPIRING, RETAIN_ACTION),
        (Event.STUCK, ABORT_ACTION),
        (Event.MISSED, START_BACKUP_ACTION),
        (Event.NORTHFLANK_PROBLEM, None),
    ],
)
def test_an_open_alert_shows_everyones_buttons_and_its_one_write(
    event: Event, write: str | None
) -> None:
    alert_view = view(make_alert(event))
    assert shown(alert_view) == EVERYONE | ({write} if write else set())
    assert shown(alert_view, NO_ADMINS) == EVERYONE


@pytest.mark.parametrize("event", ALERT_EVENTS)
def test_without_bot_admins_no_write_button_is_shown_at_all(event: Event) -> None:
    for alert in (make_alert(event), hostile_alert(event)):
        assert not shown(view(alert), NO_ADMINS) & WRITES
        buttons = buttons_for(view(alert), NO_ADMINS)
        assert not (buttons.retain or buttons.start_backup or buttons.abort)


@pytest.mark.parametrize("event", ALERT_EVENTS)
def test_a_resolved_alert_only_shows_its_backups(event: Event) -> None:
    resolved = view(make_alert(event), resolved_at=NOW)
    assert shown(resolved) == {SHOW_BACKUPS_ACTION}
    assert buttons_for(resolved, ADMINS) == AlertButtons(
        alert_id=42,
        acknowledge=False,
        snooze=False,
        show_backups=True,
        retain=False,
        start_backup=False,
        abort=False,
    )


@pytest.mark.parametrize("event", [Event.RECOVERED, Event.NORTHFLANK_RECOVERED])
def test_a_recovery_has_nothing_to_acknowledge_or_snooze(event: Event) -> None:
    assert shown(view(make_alert(event))) == {SHOW_BACKUPS_ACTION}


def test_an_acknowledged_alert_keeps_snooze_but_not_acknowledge() -> None:
    acknowledged = view(acknowledged_by="U123ABC", acknowledged_at=NOW)
    assert shown(acknowledged) == {SNOOZE_ACTION, SHOW_BACKUPS_ACTION, START_BACKUP_ACTION}
    # Either half of the record counts: the store writes both, but a half is not "open".
    assert ACKNOWLEDGE_ACTION not in shown(view(acknowledged_at=NOW))
    assert ACKNOWLEDGE_ACTION not in shown(view(acknowledged_by="U123ABC"))


def test_a_snoozed_alert_can_be_snoozed_longer() -> None:
    snoozed = view(snoozed_until=NOW + timedelta(hours=1), snoozed_by="U123ABC")
    assert SNOOZE_ACTION in shown(snoozed)


@pytest.mark.parametrize(
    ("event", "backup_overrides", "write"),
    [
        (Event.EXPIRING, {"project": None}, RETAIN_ACTION),
        (Event.EXPIRING, {"addon": None}, RETAIN_ACTION),
        (Event.STUCK, {"project": None}, ABORT_ACTION),
        (Event.STUCK, {"addon": None}, ABORT_ACTION),
    ],
)
def test_retain_and_abort_need_a_backup_that_knows_its_project_and_addon(
    event: Event, backup_overrides: dict[str, Any], write: str
) -> None:
    complete = make_alert(event)
    assert write in shown(view(complete))
    assert complete.backup is not None
    partial = dataclasses.replace(complete.backup, **backup_overrides)
    # The alert knowing them is not enough: the write goes to the backup's own addon.
    alert = dataclasses.replace(complete, backup=partial)
    assert write not in shown(view(alert))
    assert write not in shown(view(dataclasses.replace(complete, backup=None)))


def test_start_backup_takes_the_addon_and_project_from_the_alert_or_its_backup() -> None:
    failed = make_alert(Event.FAILED)
    from_backup = dataclasses.replace(failed, addon=None, project=None)
    assert START_BACKUP_ACTION in shown(view(from_backup))
    missed = make_alert(Event.MISSED)  # no backup: addon and project on the alert
    assert missed.backup is None
    assert START_BACKUP_ACTION in shown(view(missed))
    assert START_BACKUP_ACTION not in shown(view(dataclasses.replace(missed, project=None)))
    assert START_BACKUP_ACTION not in shown(view(dataclasses.replace(missed, addon=None)))
    no_project = dataclasses.replace(
        from_backup, backup=make_backup(project=None, addon=Ref("a1", "orders-db"))
    )
    assert START_BACKUP_ACTION not in shown(view(no_project))


def test_buttons_need_a_ledger_id() -> None:
    with pytest.raises(ValueError, match="ledger id"):
        buttons_for(view(alert_id=None), ADMINS)


def test_no_button_no_block() -> None:
    nothing = AlertButtons(42, False, False, False, False, False, False)
    assert actions_block(nothing, view()) is None


# ----- what the buttons carry ----------------------------------------------------------------


def test_the_action_ids_are_the_six_the_listeners_register() -> None:
    assert {
        "alert_acknowledge",
        "alert_snooze",
        "alert_show_backups",
        "alert_retain",
        "alert_start_backup",
        "alert_abort",
    } == ALERT_ACTIONS
    assert set(alert_buttons.WRITE_ACTION_AUDIT) == WRITES
    assert set(alert_buttons.WRITE_ACTION_AUDIT.values()) == WRITE_ACTIONS


def test_every_button_carries_the_alert_id_and_its_block_is_named_after_it() -> None:
    for event in ALERT_EVENTS:
        alert_view = view(make_alert(event), alert_id=987654321)
        block = actions_block(buttons_for(alert_view, ADMINS), alert_view)
        assert block is not None
        assert block["block_id"] == "alert_actions:987654321"
        for item in block["elements"]:
            assert_element_within_limits(item)
            if item["type"] == "button":
                assert parse_alert_id(item["value"]) == 987654321


def test_the_snooze_menu_offers_an_hour_a_day_and_a_week_that_parse_back() -> None:
    menu = element(view(alert_id=31), SNOOZE_ACTION)
    assert menu["type"] == "static_select"
    assert menu["placeholder"]["text"] == "Snooze…"
    labels = [option["text"]["text"] for option in menu["options"]]
    assert labels == ["1 hour", "24 hours", "7 days"]
    parsed = [parse_snooze_value(option["value"]) for option in menu["options"]]
    assert parsed == [(31, timedelta(hours=1)), (31, timedelta(hours=24)), (31, timedelta(days=7))]
    assert {
        "1h": timedelta(hours=1),
        "24h": timedelta(hours=24),
        "7d": timedelta(days=7),
    } == SNOOZE_CHOICES


def test_labels_and_styles() -> None:
    acknowledge = element(view(), ACKNOWLEDGE_ACTION)
    assert acknowledge["text"]["text"] == "Acknowledge"
    assert acknowledge["style"] == "primary"
    assert element(view(), SHOW_BACKUPS_ACTION)["text"]["text"] == "Show backups"
    assert element(view(), START_BACKUP_ACTION)["text"]["text"] == "Start backup"
    assert element(view(make_alert(Event.EXPIRING)), RETAIN_ACTION)["text"]["text"] == "Retain"
    abort = element(view(make_alert(Event.STUCK)), ABORT_ACTION)
    assert abort["text"]["text"] == "Abort"
    assert abort["style"] == "danger"


# ----- confirm dialogs -----------------------------------------------------------------------


def test_only_the_write_buttons_ask_for_confirmation() -> None:
    for event in ALERT_EVENTS:
        alert_view = view(make_alert(event))
        block = actions_block(buttons_for(alert_view, ADMINS), alert_view)
        assert block is not None
        for item in block["elements"]:
            assert ("confirm" in item) == (item["action_id"] in WRITES), item["action_id"]


def test_retain_confirm_names_the_backup_and_addon() -> None:
    confirm = element(view(make_alert(Event.EXPIRING)), RETAIN_ACTION)["confirm"]
    assert confirm["title"] == {"type": "plain_text", "text": "Retain this backup?"}
    assert confirm["text"]["type"] == "mrkdwn"
    assert confirm["text"]["text"] == (
        "Ask Northflank to keep backup *nightly-orders* of addon *orders-db* indefinitely, "
        "instead of deleting it when it expires?"
    )
    assert confirm["confirm"]["text"] == "Retain"
    assert confirm["deny"]["text"] == "Cancel"
    assert "style" not in confirm


def test_start_backup_confirm_names_the_addon_and_project() -> None:
    confirm = element(view(make_alert(Event.MISSED)), START_BACKUP_ACTION)["confirm"]
    assert confirm["title"]["text"] == "Start a backup now?"
    assert confirm["text"]["text"] == (
        "Ask Northflank to start a new backup of addon *orders-db* in project *shop* now?"
    )
    assert confirm["confirm"]["text"] == "Start backup"
    assert confirm["deny"]["text"] == "Cancel"
    assert confirm["style"] == "primary"


def test_abort_confirm_is_a_danger_dialog_naming_the_backup() -> None:
    confirm = element(view(make_alert(Event.STUCK)), ABORT_ACTION)["confirm"]
    assert confirm["title"]["text"] == "Abort this backup?"
    assert confirm["text"]["text"] == (
        "Ask Northflank to abort backup *nightly-orders* of addon *orders-db*? "
        "An aborted backup can't be resumed."
    )
    assert confirm["confirm"]["text"] == "Abort"
    assert confirm["deny"]["text"] == "Cancel"
    assert confirm["style"] == "danger"


@pytest.mark.parametrize("name", ["<!channel> & `rm -rf`", "&" * 300, "<" * 300, "`" * 300])
@pytest.mark.parametrize("event", [Event.EXPIRING, Event.MISSED, Event.FAILED, Event.STUCK])
def test_confirm_texts_escape_and_clip_hostile_names(name: str, event: Event) -> None:
    alert_view = view(hostile_alert(event, name))
    block = actions_block(buttons_for(alert_view, ADMINS), alert_view)
    assert block is not None
    (write,) = [e for e in block["elements"] if "confirm" in e]
    assert_element_within_limits(write)
    text = write["confirm"]["text"]["text"]
    assert "<" not in text and ">" not in text
    if name.startswith("<!channel>"):
        assert "&lt;!channel&gt; &amp; `rm -rf`" in text


def test_a_whole_message_with_hostile_names_and_buttons_is_inert() -> None:
    context = AlertContext("<!here>", "<!here>", WatchSettings(), write_buttons=True)
    views = [
        view(hostile_alert(event), alert_id=i + 1, snoozed_until=NOW + timedelta(hours=1))
        for i, event in enumerate(ALERT_EVENTS)
    ]
    for group in (views[:3], views[3:]):
        reply = alert_message(group, context, NOW)
        assert_inert(reply)
        assert "&lt;!channel&gt;" in json.dumps(reply)


# ----- reading presses back ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("1", 1), ("42", 42), ("9" * 18, 10**18 - 1)])
def test_an_alert_id_parses(value: str, expected: int) -> None:
    assert parse_alert_id(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0",
        "-1",
        "+1",
        "1e3",
        "1.0",
        "0x1f",
        "007",
        " 7",
        "7 ",
        "7\n",
        "1_000",
        "12:2h",
        "٣",  # an Arabic-Indic three: int() would take it
        "9" * 19,
        str(10**20),
        10**20,
        42,
        True,
        None,
        b"42",
        ["42"],
        {"id": "42"},
        4.2,
    ],
)
def test_anything_else_is_not_an_alert_id(value: object) -> None:
    assert parse_alert_id(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("42:1h", (42, timedelta(hours=1))),
        ("42:24h", (42, timedelta(hours=24))),
        ("7:7d", (7, timedelta(days=7))),
    ],
)
def test_a_snooze_value_parses(value: str, expected: tuple[int, timedelta]) -> None:
    assert parse_snooze_value(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "42",
        "42:",
        ":1h",
        "12:2h",
        "42:1H",
        "42:1h:1h",
        "42:1h ",
        " 42:1h",
        "-1:1h",
        "0:1h",
        "1e3:1h",
        "42:30d",
        "42;1h",
        f"{10**20}:1h",
        42,
        None,
        ("42", "1h"),
        b"42:1h",
    ],
)
def test_anything_else_is_not_a_snooze_value(value: object) -> None:
    assert parse_snooze_value(value) is None


def test_the_write_audit_actions_are_the_write_buttons() -> None:
    assert alert_buttons.WRITE_ACTION_AUDIT == {
        RETAIN_ACTION: AuditAction.RETAIN,
        START_BACKUP_ACTION: AuditAction.START_BACKUP,
        ABORT_ACTION: AuditAction.ABORT,
    }
