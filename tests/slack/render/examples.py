"""Alerts, contexts and checks shared by the Slack renderers' tests: hostile names,
every string walked for escaping, and Slack's Block Kit limits."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.core.alerts import Alert
from bot.core.backups import Backup, BackupStatus, Destination, Ref, Schedule, ScheduleInterval
from bot.core.messages import AlertContext, AlertView
from bot.core.watches import (
    Event,
    WatchSettings,
)
from bot.slack.render import alert_message
from bot.slack.render.alert_buttons import ALERT_ACTIONS

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
    return alert_message.alert_message([AlertView(a) for a in alerts], context, NOW)


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


def assert_valid_for_slack_sdk(blocks: list[dict[str, Any]], *, view: str | None = None) -> None:
    """slack_sdk's own model classes accept every block, with their length validation
    (a message's blocks; with `view`, a whole view of that type, 100 blocks at most)."""
    for model in Block.parse_all(blocks):
        assert model is not None
        model.validate_json()
    if view is not None:
        View(type=view, blocks=blocks).validate_json()


def assert_within_limits(reply: Reply, total: int = 12_000) -> None:
    blocks = reply["blocks"]
    assert 0 < len(blocks) <= 50
    assert_valid_for_slack_sdk(blocks)
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
