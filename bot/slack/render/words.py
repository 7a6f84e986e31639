"""Words several Slack messages share: what each event is called, what an alert is
about, what a watch will post. Pure.

The `*_name` helpers return outside text unescaped, for plain_text headers
and for callers that clip it themselves (mrkdwn.clip); everything else here
is mrkdwn, escaped.
"""

from __future__ import annotations

from bot.core.alerts import Alert
from bot.core.backups import BackupStatus, Ref, Schedule, ScheduleInterval
from bot.core.durations import format_duration
from bot.core.messages import AlertContext
from bot.core.watches import PROBLEM_EVENTS, REMINDED_EVENTS, WATCHABLE_EVENTS, Event, WatchSettings
from bot.slack.render.mrkdwn import escape, join

STATUS_EMOJI: dict[BackupStatus, str] = {
    BackupStatus.COMPLETED: ":white_check_mark:",
    BackupStatus.FAILED: ":x:",
    BackupStatus.ABORTED: ":no_entry_sign:",
    BackupStatus.ABORTING: ":warning:",
    BackupStatus.IN_PROGRESS: ":hourglass_flowing_sand:",
    BackupStatus.SCHEDULED: ":calendar:",
    BackupStatus.NOT_SUPPORTED: ":heavy_minus_sign:",
    BackupStatus.UNKNOWN: ":grey_question:",
}
EVENT_EMOJI: dict[Event, str] = {
    Event.FAILED: ":x:",
    Event.ABORTED: ":no_entry_sign:",
    Event.EXPIRING: ":hourglass:",
    Event.STUCK: ":hourglass_flowing_sand:",
    Event.MISSED: ":alarm_clock:",
    Event.ANOMALY: ":mag:",
    Event.RECOVERED: ":white_check_mark:",
    Event.NORTHFLANK_PROBLEM: ":rotating_light:",
    Event.NORTHFLANK_RECOVERED: ":white_check_mark:",
}
# The short word at the start of an alert's section.
EVENT_WORD: dict[Event, str] = {
    Event.FAILED: "Failed",
    Event.ABORTED: "Aborted",
    Event.EXPIRING: "Expiring",
    Event.STUCK: "Stuck",
    Event.MISSED: "Missed",
    Event.ANOMALY: "Anomaly",
    Event.RECOVERED: "Recovered",
    Event.NORTHFLANK_PROBLEM: "Northflank problem",
    Event.NORTHFLANK_RECOVERED: "Northflank answers again",
}
# The header of a one-alert message: "Backup failed: nightly-orders".
EVENT_TITLE: dict[Event, str] = {
    Event.FAILED: "Backup failed",
    Event.ABORTED: "Backup aborted",
    Event.EXPIRING: "Backup expiring soon",
    Event.STUCK: "Backup stuck",
    Event.MISSED: "Scheduled backup missed",
    Event.ANOMALY: "Backup looks wrong",
    Event.RECOVERED: "Backup recovered",
    Event.NORTHFLANK_PROBLEM: "Can't read Northflank",
    Event.NORTHFLANK_RECOVERED: "Northflank answers again",
}
_SCHEDULE_TIMES_SHOWN = 6
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NORTHFLANK_EVENTS = frozenset({Event.NORTHFLANK_PROBLEM, Event.NORTHFLANK_RECOVERED})


def subject_name(alert: Alert, context: AlertContext) -> str:
    """What the alert is about, unescaped: a backup, an addon or the destination."""
    if alert.event in NORTHFLANK_EVENTS:
        return context.destination_name
    if alert.event is Event.MISSED:
        addon = addon_of(alert)
        return addon.name if addon else alert.subject
    return alert.backup.name if alert.backup else alert.subject


def addon_of(alert: Alert) -> Ref | None:
    return alert.addon or (alert.backup.addon if alert.backup else None)


def project_of(alert: Alert) -> Ref | None:
    return alert.project or (alert.backup.project if alert.backup else None)


def settings_words(settings: WatchSettings) -> str:
    """Compact, one line: "events failed, stuck · stuck 6h · remind 1d · quiet 22:00–07:00 UTC".

    Like expiry and stuck, reminders are named only when a watched event gets them.
    """
    events = [event.value for event in WATCHABLE_EVENTS if event in settings.events]
    parts = [f"events {', '.join(events)}" if events else "no backup events"]
    if Event.EXPIRING in settings.events:
        parts.append(f"expiry {format_duration(settings.expiry)}")
    if Event.STUCK in settings.events:
        parts.append(f"stuck {format_duration(settings.stuck)}")
    if settings.events & REMINDED_EVENTS:
        remind = settings.remind
        parts.append(f"remind {format_duration(remind)}" if remind else "no reminders")
    if settings.quiet is not None:
        parts.append(f"quiet {escape(settings.quiet.describe())}")
    return " · ".join(parts)


def settings_sentence(settings: WatchSettings) -> str:
    """ "I'll post when a backup fails, is aborted or …" """
    backup_phrases = {
        Event.FAILED: "fails",
        Event.ABORTED: "is aborted",
        Event.EXPIRING: f"will expire within {format_duration(settings.expiry)}",
        Event.STUCK: f"is stuck for over {format_duration(settings.stuck)}",
        Event.ANOMALY: "completes but looks wrong (empty, far smaller or far slower than usual)",
    }
    chosen = [phrase for event, phrase in backup_phrases.items() if event in settings.events]
    whens = [f"a backup {join(chosen, 'or')}"] if chosen else []
    if Event.MISSED in settings.events:
        whens.append("an addon misses a scheduled backup")
    if not whens:
        only = "I'll only post if I can't read this destination from Northflank."
        return only + _quiet_words(settings)
    sentence = f"I'll post when {', and when '.join(whens)}."
    if settings.events & PROBLEM_EVENTS:
        sentence += " When the addon has a good backup again, I'll say so in the alert's thread."
    reminded = [
        event.value
        for event in WATCHABLE_EVENTS
        if event in REMINDED_EVENTS and event in settings.events
    ]
    if reminded and settings.remind is not None:
        sentence += (
            f" Until someone acknowledges a {join(reminded, 'or')} alert, I'll remind its "
            f"thread every {format_duration(settings.remind)}."
        )
    elif reminded:
        sentence += " I won't send reminders about open alerts."
    return sentence + _quiet_words(settings) + _report_words(settings)


def _report_words(settings: WatchSettings) -> str:
    if not settings.weekly_report:
        return ""
    zone = settings.quiet.timezone if settings.quiet else "UTC"
    return (
        f" Every Monday at 09:00 {escape(zone)} I'll post a report of the week, "
        "all good or not (`report=off` stops it)."
    )


def _quiet_words(settings: WatchSettings) -> str:
    if settings.quiet is None:
        return ""
    return (
        f" During quiet hours ({escape(settings.quiet.describe())}) I hold alerts and post "
        "them together when the quiet hours end."
    )


def schedule_words(schedule: Schedule | None) -> str:
    """ "daily at 02:00 UTC", "hourly at :15 and :45", "weekly on Mon, Thu at 18:30 UTC"."""
    if schedule is None:
        return "its backup schedule"
    if schedule.interval is ScheduleInterval.HOURLY:
        return "hourly at " + _join_capped([f":{m:02d}" for m in schedule.minutes])
    times = _join_capped([f"{h:02d}:{m:02d}" for h in schedule.hours for m in schedule.minutes])
    if schedule.interval is ScheduleInterval.DAILY:
        return f"daily at {times} UTC"
    days = ", ".join(_DAY_NAMES[d] for d in schedule.days if 0 <= d < len(_DAY_NAMES))
    return f"weekly on {days} at {times} UTC"


def _join_capped(items: list[str]) -> str:
    # A schedule may list every minute of every hour; name a few, count the rest.
    if len(items) > _SCHEDULE_TIMES_SHOWN:
        rest = len(items) - _SCHEDULE_TIMES_SHOWN
        items = [*items[:_SCHEDULE_TIMES_SHOWN], f"{rest} more times"]
    return join(items, "and")
