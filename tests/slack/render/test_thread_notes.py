"""Thread replies under an alert: recoveries, reminders, write results. Pure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.core.audit import WRITE_ACTIONS, AuditAction
from bot.core.backups import BackupStatus
from bot.core.messages import AlertContext
from bot.core.watches import Event, WatchSettings
from bot.northflank.errors import BadRequestError, UnavailableError
from bot.slack.render import explain, thread_notes
from bot.slack.render.mrkdwn import date
from bot.slack.render.thread_notes import REMINDER_ALERTS_SHOWN, reminder_note, write_result_note
from tests.slack.render.examples import (
    CONTEXT,
    HOSTILE,
    HOSTILE_ESCAPED,
    NOW,
    assert_inert,
    assert_within_limits,
    everything,
    hostile_alert,
    make_alert,
    make_backup,
    section_texts,
)

Reply = dict[str, Any]
ADMIN = "U0ADMIN1"
DAY = timedelta(days=1)


def text_of(reply: Reply) -> str:
    (section,) = section_texts(reply)
    return section


# ----- reminders -----------------------------------------------------------------------------


def test_a_reminder_for_one_alert() -> None:
    reply = reminder_note(
        [make_alert(Event.FAILED)], open_for=DAY, remind_every=DAY, context=CONTEXT
    )
    assert text_of(reply) == (
        ":alarm_clock: Still open after 1d and nobody has acknowledged it: "
        "*Backup failed: nightly-orders*. Press *Acknowledge* on the alert to stop these "
        "reminders (every 1d), or snooze it."
    )
    assert reply["text"] == "Still open after 1d: Backup failed: nightly-orders"


def test_a_reminder_names_a_missed_alert_by_its_addon_and_says_how_long_exactly() -> None:
    reply = reminder_note(
        [make_alert(Event.MISSED)],
        open_for=timedelta(days=2, hours=5, minutes=10),
        remind_every=timedelta(hours=12),
        context=CONTEXT,
    )
    text = text_of(reply)
    assert "Still open after 2d 5h and nobody" in text
    assert "*Scheduled backup missed: orders-db*" in text
    assert "(every 12h)" in text


def test_a_reminder_for_several_alerts_lists_a_few_and_counts_the_rest() -> None:
    alerts = [
        make_alert(Event.STUCK, backup=make_backup(id=f"b{i}", name=f"backup-{i}"))
        for i in range(REMINDER_ALERTS_SHOWN + 3)
    ]
    reply = reminder_note(alerts, open_for=DAY, remind_every=DAY, context=CONTEXT)
    lines = text_of(reply).split("\n")
    assert lines[0] == ":alarm_clock: Still open after 1d and nobody has acknowledged them:"
    listed = [line for line in lines if line.startswith("• ")]
    assert listed == [f"• *Backup stuck: backup-{i}*" for i in range(REMINDER_ALERTS_SHOWN)]
    assert "…and 3 more." in lines
    assert lines[-1].startswith("Press *Acknowledge* on each alert to stop these reminders")
    assert reply["text"] == f"{REMINDER_ALERTS_SHOWN + 3} alerts still open after 1d"
    two = reminder_note(alerts[:2], open_for=DAY, remind_every=DAY, context=CONTEXT)
    assert "more" not in text_of(two)


def test_a_reminder_needs_an_alert() -> None:
    with pytest.raises(ValueError, match="at least one"):
        reminder_note([], open_for=DAY, remind_every=DAY, context=CONTEXT)


@pytest.mark.parametrize("count", [1, 3, 50])
def test_reminders_with_hostile_names_are_inert_and_small(count: int) -> None:
    context = AlertContext(HOSTILE, HOSTILE, WatchSettings())
    events = [Event.FAILED, Event.STUCK, Event.MISSED, Event.NORTHFLANK_PROBLEM]
    alerts = [hostile_alert(events[i % len(events)]) for i in range(count)]
    reply = reminder_note(alerts, open_for=DAY, remind_every=DAY, context=context)
    assert_inert(reply)
    assert HOSTILE_ESCAPED in everything(reply)
    long_names = [hostile_alert(events[i % 4], "&" * 300) for i in range(count)]
    long_reply = reminder_note(long_names, open_for=DAY, remind_every=DAY, context=context)
    assert_within_limits(long_reply, total=2_500)


# ----- write results -------------------------------------------------------------------------


def test_retained() -> None:
    reply = write_result_note(
        AuditAction.RETAIN,
        user_id=ADMIN,
        alert=make_alert(Event.EXPIRING),
        ok=True,
        explanation=None,
    )
    assert text_of(reply) == (
        f":white_check_mark: <@{ADMIN}> retained backup *nightly-orders*: Northflank keeps "
        "it past its expiry, until someone deletes it."
    )
    assert reply["text"] == f"<@{ADMIN}> retained backup nightly-orders."


def test_started_names_the_addon_and_the_new_backup() -> None:
    reply = write_result_note(
        AuditAction.START_BACKUP,
        user_id=ADMIN,
        alert=make_alert(Event.FAILED),
        ok=True,
        explanation=None,
        started="manual-1 (b-77)",
    )
    assert text_of(reply) == (
        f":arrow_forward: <@{ADMIN}> started a new backup of addon *orders-db* (`manual-1 (b-77)`)."
    )
    unnamed = write_result_note(
        AuditAction.START_BACKUP,
        user_id=ADMIN,
        alert=make_alert(Event.MISSED),
        ok=True,
        explanation=None,
    )
    assert (
        text_of(unnamed) == f":arrow_forward: <@{ADMIN}> started a new backup of addon *orders-db*."
    )


def test_abort_requested() -> None:
    reply = write_result_note(
        AuditAction.ABORT, user_id=ADMIN, alert=make_alert(Event.STUCK), ok=True, explanation=None
    )
    assert text_of(reply) == (
        f":octagonal_sign: <@{ADMIN}> asked Northflank to abort backup *nightly-orders*."
    )


@pytest.mark.parametrize(
    ("action", "event", "tried"),
    [
        (AuditAction.RETAIN, Event.EXPIRING, "tried to retain backup *nightly-orders*"),
        (AuditAction.ABORT, Event.STUCK, "tried to abort backup *nightly-orders*"),
        (
            AuditAction.START_BACKUP,
            Event.FAILED,
            "tried to start a new backup of addon *orders-db*",
        ),
    ],
)
def test_a_failure_says_who_tried_what_and_why(
    action: AuditAction, event: Event, tried: str
) -> None:
    why = explain.write_failure(UnavailableError("timed out").failure(), action)
    reply = write_result_note(
        action, user_id=ADMIN, alert=make_alert(event), ok=False, explanation=why
    )
    assert text_of(reply) == f":warning: <@{ADMIN}> {tried}, but it did not work. {why}"
    assert reply["text"] == f"<@{ADMIN}> {tried.replace('*', '')}, but it did not work."
    bare = write_result_note(
        action, user_id=ADMIN, alert=make_alert(event), ok=False, explanation=None
    )
    assert text_of(bare) == f":warning: <@{ADMIN}> {tried}, but it did not work."


@pytest.mark.parametrize("user_id", ["<!channel>", "", "U1", "u0admin"])
def test_a_malformed_user_is_someone(user_id: str) -> None:
    reply = write_result_note(
        AuditAction.ABORT, user_id=user_id, alert=make_alert(Event.STUCK), ok=True, explanation=None
    )
    assert text_of(reply).startswith(":octagonal_sign: Someone asked Northflank")
    assert "<@" not in everything(reply)
    assert_inert(reply)


@pytest.mark.parametrize("action", sorted(WRITE_ACTIONS))
@pytest.mark.parametrize("ok", [True, False])
@pytest.mark.parametrize("name", [HOSTILE, "&" * 300, "`" * 300])
def test_write_notes_with_hostile_names_are_inert_and_small(
    action: AuditAction, ok: bool, name: str
) -> None:
    event = {
        AuditAction.RETAIN: Event.EXPIRING,
        AuditAction.START_BACKUP: Event.MISSED,
        AuditAction.ABORT: Event.STUCK,
    }[action]
    why = explain.write_failure(BadRequestError(name, status=409).failure(), action)
    reply = write_result_note(
        action,
        user_id=ADMIN,
        alert=hostile_alert(event, name),
        ok=ok,
        explanation=why,
        started=name,
    )
    assert_inert(reply, allowed_mentions=(f"<@{ADMIN}>",))
    assert_within_limits(reply, total=1_500)
    if name == HOSTILE:
        assert HOSTILE_ESCAPED in everything(reply)


def test_a_start_backup_name_cannot_leave_its_code_span() -> None:
    reply = write_result_note(
        AuditAction.START_BACKUP,
        user_id=ADMIN,
        alert=make_alert(Event.FAILED),
        ok=True,
        explanation=None,
        started="a`<!here>`b",
    )
    assert "(`a'&lt;!here&gt;'b`)" in text_of(reply)


@pytest.mark.parametrize(
    "action", [a for a in AuditAction if a not in WRITE_ACTIONS], ids=lambda a: a.value
)
def test_only_writes_have_result_notes(action: AuditAction) -> None:
    with pytest.raises(ValueError, match="not a write"):
        write_result_note(
            action, user_id=ADMIN, alert=make_alert(Event.FAILED), ok=True, explanation=None
        )


# ----- recovery -----------------------------------------------------------------------------


def test_recovery_names_the_good_backup_and_what_it_resolves() -> None:
    good = make_backup(id="b9", name="nightly-9", status=BackupStatus.COMPLETED)
    recovery = make_alert(Event.RECOVERED, backup=good)
    resolved = [
        make_alert(Event.FAILED, backup=make_backup(id="b7", name="nightly-7")),
        make_alert(Event.MISSED),
    ]
    reply = thread_notes.recovery_reply(recovery, resolved, CONTEXT)
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
    reply = thread_notes.recovery_reply(recovery, [problem], CONTEXT)
    (section,) = section_texts(reply)
    assert "Northflank answers again; polling *Primary* works." in section
    assert f"It had failed since {date(problem.occurred_at)}, for 3h." in section
    assert reply["text"] == "Northflank answers again; polling Primary works."


def test_recovery_text_from_the_api_is_inert() -> None:
    context = AlertContext(HOSTILE, HOSTILE, None)
    resolved = [hostile_alert(event) for event in (Event.FAILED, Event.STUCK, Event.MISSED)]
    for alert in (hostile_alert(Event.RECOVERED), hostile_alert(Event.NORTHFLANK_RECOVERED)):
        reply = thread_notes.recovery_reply(alert, resolved, context)
        assert_inert(reply)
        assert HOSTILE_ESCAPED in everything(reply)
