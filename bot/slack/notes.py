"""Thread replies under an alert: reminders, and what a write button did. Pure.

Names come from Northflank, so each is escaped and clipped to a budget
counted after escaping (alert_blocks._clip); a note stays one short section
however hostile or long the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.core import humanize
from bot.core.alerts import Alert
from bot.core.audit import WRITE_ACTIONS, AuditAction
from bot.slack.alert_blocks import (
    EVENT_TITLE,
    AlertContext,
    _addon,
    _clip,
    _compact_duration,
    _subject_name,
)
from bot.slack.blocks import Reply, _section
from bot.slack.mrkdwn import code, mention

# A reminder names this many alerts, then counts the rest.
REMINDER_ALERTS_SHOWN = 5
_SUBJECT = 100
_ADDON = 60
_STARTED = 80
_FALLBACK_SUBJECT = 60


def reminder_note(
    alerts: Sequence[Alert],
    *,
    open_for: timedelta,
    remind_every: timedelta,
    context: AlertContext,
) -> Reply:
    """A reminder in an open alert's thread: how long it has been open, and how to stop it."""
    if not alerts:
        raise ValueError("a reminder needs at least one alert")
    since = humanize.duration(open_for.total_seconds())
    every = _compact_duration(remind_every)
    if len(alerts) == 1:
        title = _title(alerts[0], context, _SUBJECT)
        text = (
            f":alarm_clock: Still open after {since} and nobody has acknowledged it: "
            f"*{title}*. Press *Acknowledge* on the alert to stop these reminders "
            f"(every {every}), or snooze it."
        )
        fallback = f"Still open after {since}: {_title(alerts[0], context, _FALLBACK_SUBJECT)}"
        return {"text": fallback, "blocks": [_section(text)]}
    lines = [
        f":alarm_clock: Still open after {since} and nobody has acknowledged them:",
        *(f"• *{_title(alert, context, _SUBJECT)}*" for alert in alerts[:REMINDER_ALERTS_SHOWN]),
    ]
    if len(alerts) > REMINDER_ALERTS_SHOWN:
        lines.append(f"…and {len(alerts) - REMINDER_ALERTS_SHOWN} more.")
    lines.append(
        f"Press *Acknowledge* on each alert to stop these reminders (every {every}), "
        "or snooze them."
    )
    fallback = f"{len(alerts)} alerts still open after {since}"
    return {"text": fallback, "blocks": [_section("\n".join(lines))]}


def write_result_note(
    action: AuditAction,
    *,
    user_id: str,
    alert: Alert,
    ok: bool,
    explanation: str | None,
    started: str | None = None,
) -> Reply:
    """What Retain, Start backup or Abort did, in the alert's thread, for everyone to see.

    `explanation` is mrkdwn already (explain.write_failure); `started` names
    the backup Northflank created, as it said (outside text).
    """
    if action not in WRITE_ACTIONS:
        raise ValueError(f"{action.value} is not a write on Northflank")
    who = mention(user_id) or "Someone"
    subject = _write_subject(action, alert)
    # The fallback shows in notifications, where mrkdwn's asterisks would be seen.
    plain = _write_subject(action, alert, bold="")
    if not ok:
        verb = {
            AuditAction.RETAIN: "retain",
            AuditAction.START_BACKUP: "start",
            AuditAction.ABORT: "abort",
        }[action]
        text = f":warning: {who} tried to {verb} {subject}, but it did not work."
        if explanation:
            text += f" {explanation}"
        fallback = f"{who} tried to {verb} {plain}, but it did not work."
        return {"text": fallback, "blocks": [_section(text)]}
    if action is AuditAction.RETAIN:
        text = (
            f":white_check_mark: {who} retained {subject}: Northflank keeps it past its "
            "expiry, until someone deletes it."
        )
        fallback = f"{who} retained {plain}."
    elif action is AuditAction.START_BACKUP:
        new = f" ({code(started, _STARTED)})" if started else ""
        text = f":arrow_forward: {who} started {subject}{new}."
        fallback = f"{who} started {plain}."
    else:
        text = f":octagonal_sign: {who} asked Northflank to abort {subject}."
        fallback = f"{who} asked Northflank to abort {plain}."
    return {"text": fallback, "blocks": [_section(text)]}


def _title(alert: Alert, context: AlertContext, limit: int) -> str:
    """ "Backup failed: nightly-orders", escaped and clipped."""
    return f"{EVENT_TITLE[alert.event]}: {_clip(_subject_name(alert, context), limit)}"


def _write_subject(action: AuditAction, alert: Alert, bold: str = "*") -> str:
    """ "backup *nightly-orders*", or "a new backup of addon *orders-db*"."""
    if action is AuditAction.START_BACKUP:
        addon = _addon(alert)
        return (
            f"a new backup of addon {bold}{_clip(addon.name, _ADDON)}{bold}"
            if addon
            else "a new backup of the addon"
        )
    if alert.backup is None:
        return "the backup"
    return f"backup {bold}{_clip(alert.backup.name, _SUBJECT)}{bold}"
