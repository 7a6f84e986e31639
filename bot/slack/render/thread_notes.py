"""Thread replies under an alert: a recovery, a reminder, what a write button did. Pure.

Names come from Northflank, so each is escaped and clipped to a budget
counted after escaping (mrkdwn.clip); a note stays one short section however
hostile or long the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.core import humanize
from bot.core.alerts import Alert
from bot.core.audit import WRITE_ACTIONS, AuditAction
from bot.core.durations import format_duration
from bot.core.failures import FailureKind
from bot.core.messages import AlertContext, Note, ReminderNote
from bot.core.watches import Event
from bot.slack.render import explain
from bot.slack.render.kit import Reply, section
from bot.slack.render.mrkdwn import clip, code, date, join, mention
from bot.slack.render.words import EVENT_TITLE, EVENT_WORD, addon_of, subject_name

# A reminder names this many alerts, then counts the rest; a recovery as many problems.
REMINDER_ALERTS_SHOWN = 5
RESOLVED_SHOWN = 5
# Budgets, after escaping.
_SUBJECT = 100
_ADDON = 60
_DESTINATION = 80
_STARTED = 80
_FALLBACK_SUBJECT = 60


def recovery_reply(alert: Alert, resolved: Sequence[Alert], context: AlertContext) -> Reply:
    """The thread reply that says a problem is over. Short: the alert above has the details."""
    destination = clip(context.destination_name, _DESTINATION)
    if alert.event is Event.NORTHFLANK_RECOVERED:
        text = f":white_check_mark: Northflank answers again; polling *{destination}* works."
        if resolved:
            since = min(problem.occurred_at for problem in resolved)
            outage = humanize.duration((alert.occurred_at - since).total_seconds())
            text += f" It had failed since {date(since)}, for {outage}."
        fallback = f"Northflank answers again; polling {destination} works."
        return {"text": fallback, "blocks": [section(text)]}

    backup = alert.backup
    addon = addon_of(alert)
    addon_name = clip(addon.name, _ADDON) if addon else "the addon"
    if backup is not None:
        name = clip(backup.name, _SUBJECT)
        facts = [humanize.size(backup.size_bytes)]
        if backup.completed_at is not None:
            facts.insert(0, f"completed {date(backup.completed_at)}")
            facts.append(f"took {humanize.duration(backup.duration_seconds)}")
        text = (
            f":white_check_mark: *Recovered*: addon *{addon_name}* has a good backup again, "
            f"*{name}* ({', '.join(facts)})."
        )
        fallback = (
            f"Recovered: {clip(addon.name, _FALLBACK_SUBJECT) if addon else 'the addon'} "
            f"completed backup {clip(backup.name, _FALLBACK_SUBJECT)}"
        )
    else:
        text = f":white_check_mark: *Recovered*: addon *{addon_name}* has a good backup again."
        fallback = f"Recovered: {clip(addon.name, _FALLBACK_SUBJECT) if addon else 'the addon'}"
    if resolved:
        shown = [
            f"{EVENT_WORD[problem.event].lower()} *{clip(subject_name(problem, context), 60)}*"
            for problem in resolved[:RESOLVED_SHOWN]
        ]
        if len(resolved) > RESOLVED_SHOWN:
            shown.append(f"{len(resolved) - RESOLVED_SHOWN} more")
        text += "\nThis resolves " + join(shown, "and") + "."
    return {"text": fallback, "blocks": [section(text)]}


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
    every = format_duration(remind_every)
    if len(alerts) == 1:
        title = _title(alerts[0], context, _SUBJECT)
        text = (
            f":alarm_clock: Still open after {since} and nobody has acknowledged it: "
            f"*{title}*. Press *Acknowledge* on the alert to stop these reminders "
            f"(every {every}), or snooze it."
        )
        fallback = f"Still open after {since}: {_title(alerts[0], context, _FALLBACK_SUBJECT)}"
        return {"text": fallback, "blocks": [section(text)]}
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
    return {"text": fallback, "blocks": [section("\n".join(lines))]}


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
    the backup Northflank created, as it said (outside text). `note_reply`
    renders a queued WriteResultNote through this.
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
        return {"text": fallback, "blocks": [section(text)]}
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
    return {"text": fallback, "blocks": [section(text)]}


def _title(alert: Alert, context: AlertContext, limit: int) -> str:
    """ "Backup failed: nightly-orders", escaped and clipped."""
    return f"{EVENT_TITLE[alert.event]}: {clip(subject_name(alert, context), limit)}"


def _write_subject(action: AuditAction, alert: Alert, bold: str = "*") -> str:
    """ "backup *nightly-orders*", or "a new backup of addon *orders-db*"."""
    if action is AuditAction.START_BACKUP:
        addon = addon_of(alert)
        return (
            f"a new backup of addon {bold}{clip(addon.name, _ADDON)}{bold}"
            if addon
            else "a new backup of the addon"
        )
    if alert.backup is None:
        return "the backup"
    return f"backup {bold}{clip(alert.backup.name, _SUBJECT)}{bold}"


def note_reply(note: Note) -> Reply:
    """A note queued in the outbox, as the message posted in its alert's thread."""
    if isinstance(note, ReminderNote):
        return reminder_note(
            note.alerts,
            open_for=note.open_for,
            remind_every=note.remind_every,
            context=note.context,
        )
    failure = note.failure
    explanation = None
    if failure is not None:
        explanation = (
            explain.internal_failure(failure.reference or "?")
            if failure.kind is FailureKind.INTERNAL
            else explain.write_failure(failure, note.action)
        )
    return write_result_note(
        note.action,
        user_id=note.user_id,
        alert=note.alert,
        ok=note.ok,
        explanation=explanation,
        started=note.started,
    )
