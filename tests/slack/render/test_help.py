"""`/backups help`. Pure."""

from __future__ import annotations

from bot.core.audit import AUDIT_SHOWN
from bot.core.durations import REMIND_RANGE, format_duration
from bot.core.watches import DEFAULT_REMIND
from bot.slack.render.alert_buttons import SNOOZE_LABELS
from bot.slack.render.help import HELP_TEXT, help_reply


def test_help_is_one_section_slack_accepts() -> None:
    reply = help_reply()
    (section,) = reply["blocks"]
    assert section["text"]["text"] == HELP_TEXT
    assert len(HELP_TEXT) <= 2900  # a section holds 3000; split it before it grows past
    assert reply["text"] == HELP_TEXT


def test_help_explains_reminders_quiet_hours_and_the_audit() -> None:
    text = HELP_TEXT
    for example in (
        "`/backups watch DEST remind=12h`",
        "`/backups watch DEST remind=off`",
        "`/backups watch DEST quiet=22:00-07:00 tz=Europe/Berlin`",
        "`/backups watch DEST quiet=off`",
        "`/backups audit`",
    ):
        assert example in text
    remind = REMIND_RANGE
    span = f"{format_duration(remind.shortest)} to {format_duration(remind.longest)}"
    assert f"({span})" in text
    assert f"(default {format_duration(DEFAULT_REMIND)})" in text
    assert f"the last {AUDIT_SHOWN} changes" in text


def test_help_explains_the_buttons_on_each_alert() -> None:
    text = HELP_TEXT
    on_each_alert = text[text.index("*On each alert*") :]
    for button in ("*Acknowledge*", "*Snooze…*", "*Show backups*", "*Retain*", "*Abort*"):
        assert button in on_each_alert
    assert "*Start backup*" in on_each_alert
    assert "stops its reminders" in on_each_alert
    assert ", ".join(list(SNOOZE_LABELS.values())[:-1]) in on_each_alert
    assert list(SNOOZE_LABELS.values())[-1] in on_each_alert
    assert "BOT_ADMINS" in on_each_alert and "confirmation" in on_each_alert
