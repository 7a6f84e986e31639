"""The channel message of an alert digest, as first posted and as later edited. Pure.

Each alert is a section with its buttons right under it (alert_buttons.py);
a resolved alert keeps its details but gets a "Resolved" line and a
struck-through title; an acknowledged or snoozed one says by whom. Every
piece of outside text is clipped to a fixed budget after escaping
(mrkdwn.clip), so that a digest of MAX_ALERTS_PER_MESSAGE worst-case alerts
(bot/core/digests.py), each with its buttons, stays far below Slack's limits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from bot.core import humanize
from bot.core.alerts import Alert
from bot.core.anomalies import describe
from bot.core.connections import shown_id
from bot.core.messages import AlertContext, AlertView
from bot.core.watches import Event
from bot.slack.render import kit
from bot.slack.render.alert_buttons import actions_block, buttons_for
from bot.slack.render.kit import Block, Reply
from bot.slack.render.mrkdwn import clip, code, date, mention
from bot.slack.render.words import (
    EVENT_EMOJI,
    EVENT_TITLE,
    EVENT_WORD,
    NORTHFLANK_EVENTS,
    addon_of,
    project_of,
    schedule_words,
    settings_words,
    subject_name,
)

# Budgets, in characters after escaping, for each piece of outside text.
_BACKUP_NAME = 100
_ADDON_NAME = 60
_PROJECT_NAME = 60
_DESTINATION_NAME = 80
_ADDON_KIND = 40
_STATUS = 30
_ID = 40
_PROBLEM = 300
_FALLBACK_NAME = 60


def alert_message(views: Sequence[AlertView], context: AlertContext, now: datetime) -> Reply:
    """The channel message for one digest group, first posted and later updated.

    A resolved alert keeps its details but gets a "Resolved" line and a
    struck-through title; the others render exactly as when first posted.
    An acknowledged or snoozed one says by whom. Each alert with a ledger id
    has its buttons right under its section.
    """
    if not views:
        raise ValueError("an alert message needs at least one alert")
    destination = clip(context.destination_name, _DESTINATION_NAME)
    body: list[Block] = []
    for view in views:
        body.append(kit.section("\n".join(_alert_lines(view, context, now))))
        if view.alert_id is not None:
            actions = actions_block(buttons_for(view, context), view)
            if actions is not None:
                body.append(actions)
    if len(views) == 1:
        view = views[0]
        title = f"{EVENT_TITLE[view.alert.event]}: {subject_name(view.alert, context)}"
        resolved = "Resolved: " if view.resolved_at is not None else ""
        heading = kit.header(resolved + title)
        fallback = f"{resolved}{EVENT_TITLE[view.alert.event]}: "
        if view.alert.event in NORTHFLANK_EVENTS:
            fallback += destination
        else:
            subject = clip(subject_name(view.alert, context), _FALLBACK_NAME)
            fallback += f"{subject} in {destination}"
    else:
        kind = (
            "alerts"
            if any(view.alert.event in NORTHFLANK_EVENTS for view in views)
            else "backup alerts"
        )
        heading = kit.header(f"{len(views)} {kind} · {context.destination_name}")
        counts = Counter(EVENT_WORD[view.alert.event].lower() for view in views)
        fallback = f"{len(views)} {kind} in {destination}: " + ", ".join(
            f"{n} {word}" for word, n in counts.items()
        )
        resolved_count = sum(1 for view in views if view.resolved_at is not None)
        if resolved_count:
            fallback += f" ({resolved_count} resolved)"
    blocks: list[Block] = [heading, *body, kit.context(_alert_context_line(context))]
    return {"text": fallback, "blocks": blocks}


def _alert_lines(view: AlertView, context: AlertContext, now: datetime) -> list[str]:
    return _event_lines(view, context, now) + _handling_lines(view, now)


def _handling_lines(view: AlertView, now: datetime) -> list[str]:
    """Who acknowledged it, and a snooze still running."""
    lines: list[str] = []
    if view.acknowledged:
        who = mention(view.acknowledged_by or "") or "someone"
        when = f" {date(view.acknowledged_at)}" if view.acknowledged_at is not None else ""
        lines.append(f":eyes: Acknowledged by {who}{when}")
    if view.snoozed_until is not None and view.snoozed_until > now:
        line = f":zzz: Snoozed until {date(view.snoozed_until)}"
        if view.snoozed_by is not None:
            line += f" by {mention(view.snoozed_by) or 'someone'}"
        lines.append(line)
    return lines


def _event_lines(view: AlertView, context: AlertContext, now: datetime) -> list[str]:
    alert = view.alert
    emoji = EVENT_EMOJI[alert.event]
    word = EVENT_WORD[alert.event]
    subject = _subject_mrkdwn(alert, context)
    if view.resolved_at is None:
        lines = [f"{emoji} *{word}* · {subject}"]
    else:
        lines = [
            f":white_check_mark: Resolved {date(view.resolved_at)}",
            f"{emoji} ~*{word}* · {subject}~",
        ]
    if alert.event is Event.NORTHFLANK_PROBLEM:
        return lines + _problem_lines(alert, context, now)

    backup = alert.backup
    # A missed alert's title already names the addon.
    where = _where(alert, with_addon_name=alert.event is not Event.MISSED)
    if where:
        lines.append(where)
    if alert.event is Event.MISSED:
        lines.append(f"schedule: {schedule_words(alert.schedule)}")
        if alert.expected_at is not None:
            due = humanize.time_until(alert.expected_at, now)
            lines.append(f"was due {date(alert.expected_at)} ({due})")
        if backup is not None:
            lines.append(
                f"latest backup *{clip(backup.name, _BACKUP_NAME)}* "
                f"{code(backup.status_text, _STATUS)} created {date(backup.created_at)}"
            )
        return lines
    if backup is None:
        return lines
    lines.append(f"status {code(backup.status_text, _STATUS)} · {humanize.size(backup.size_bytes)}")
    timing = [f"created {date(backup.created_at)}"]
    if backup.completed_at is not None:
        timing.append(f"completed {date(backup.completed_at)}")
        timing.append(f"took {humanize.duration(backup.duration_seconds)}")
    else:
        timing.append("not finished")
    lines.append(" · ".join(timing))
    if alert.event is Event.EXPIRING and backup.expires_at is not None:
        left = humanize.time_until(backup.expires_at, now)
        verb = "expired" if backup.expires_at <= now else "expires"
        lines.append(f"{verb} {left} ({date(backup.expires_at)})")
    if alert.event is Event.STUCK:
        stuck_for = humanize.duration((now - backup.created_at).total_seconds())
        lines.append(f"still {code(backup.status_text, _STATUS)} {stuck_for} after it was created")
    if alert.event is Event.ANOMALY and alert.anomaly is not None:
        # Figures only (digits and units): nothing to escape.
        lines.append(f":mag: {describe(alert.anomaly)}")
    return lines


def _problem_lines(alert: Alert, context: AlertContext, now: datetime) -> list[str]:
    since = humanize.time_until(alert.occurred_at, now)
    problem = clip(alert.problem or "Northflank did not answer.", _PROBLEM)
    return [
        problem,
        f"failing since {date(alert.occurred_at)} ({since})",
        "What to check: that `NORTHFLANK_API_TOKEN` is still valid; that its API role has "
        # Our own `>` escaped too: Slack asks for it in every mrkdwn text.
        "*Account &gt; BackupDestinations &gt; General &gt; Read*; that destination "
        f"{code(shown_id(context.destination_id), _ID)} still exists; "
        "and Northflank's status page, "
        "status.northflank.com. I keep polling and will say here when it works again.",
    ]


def _alert_context_line(context: AlertContext) -> str:
    destination = (
        f"destination *{clip(context.destination_name, _DESTINATION_NAME)}* "
        f"{code(shown_id(context.destination_id), _ID)}"
    )
    if context.settings is None:
        return f"{destination} · no longer watched in this channel"
    return f"{destination} · {settings_words(context.settings)}"


def _subject_mrkdwn(alert: Alert, context: AlertContext) -> str:
    if alert.event in NORTHFLANK_EVENTS:
        return f"destination *{clip(context.destination_name, _DESTINATION_NAME)}*"
    if alert.event is Event.MISSED:
        return f"addon *{clip(subject_name(alert, context), _ADDON_NAME)}*"
    return f"*{clip(subject_name(alert, context), _BACKUP_NAME)}*"


def _where(alert: Alert, *, with_addon_name: bool = True) -> str:
    """ "addon *orders-db* (postgresql 16.2) · project *shop*" """
    backup = alert.backup
    addon = addon_of(alert)
    project = project_of(alert)
    kind = " ".join(p for p in (backup.addon_type, backup.addon_version) if p) if backup else ""
    kind_words = f"({clip(kind, _ADDON_KIND)})" if kind else ""
    parts = []
    if addon is not None and with_addon_name:
        parts.append(f"addon *{clip(addon.name, _ADDON_NAME)}* {kind_words}".rstrip())
    elif kind_words:
        parts.append(kind_words)
    if project is not None:
        parts.append(f"project *{clip(project.name, _PROJECT_NAME)}*")
    return " · ".join(parts)
