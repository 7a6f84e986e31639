"""Block Kit for alerts and for the replies of `watch` and `watching`. Pure: `now` is a parameter.

Sizes are bounded by construction, not by cutting finished blocks: cutting a
section at 3000 characters could split an escape (`&amp;`) or a date token and
leave broken mrkdwn. Every piece of outside text is therefore clipped to a
fixed budget *after* escaping (`_clip`), so that a digest of
MAX_ALERTS_PER_MESSAGE worst-case alerts, each with its buttons
(alert_buttons.py), stays far below Slack's limits
(../shared/reference/slack-platform.md: 50 blocks, 3000 characters a section,
150 a header, and `msg_blocks_too_long` at about 13k characters in total).

Headers are plain_text, which Slack does not parse for mentions or links, so
they carry names unescaped (as in blocks.py); every mrkdwn text and every
fallback `text` carries them escaped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import humanize
from bot.core.alerts import Alert
from bot.core.backups import Backup, Destination, Ref, Schedule, ScheduleInterval
from bot.core.watches import (
    PROBLEM_EVENTS,
    REMINDED_EVENTS,
    WATCHABLE_EVENTS,
    DestinationSummary,
    Event,
    PollStatus,
    Watch,
    WatchSettings,
    WatchState,
)
from bot.slack.blocks import STATUS_EMOJI, Block, Reply, _context, _header, _section
from bot.slack.mrkdwn import code, date, escape, mention

# Each alert brings its buttons, and the write buttons their confirm dialogs:
# about 2,250 characters of JSON for a worst-case alert (300-character names
# of `&`, every field filled, acknowledged and snoozed lines, every button it
# can show). Four of them, with the header and context, measure about 9,600
# characters; five would be about 11,800, too close to the ~13k at which Slack
# refuses a message. Four ordinary alerts with buttons measure about 6,200.
MAX_ALERTS_PER_MESSAGE = 4

# Budgets, in characters after escaping, for each piece of outside text.
_BACKUP_NAME = 100
_ADDON_NAME = 60
_PROJECT_NAME = 60
_DESTINATION_NAME = 80
_ADDON_KIND = 40
_STATUS = 30
_ID = 40
_PROBLEM = 300
_REASON = 160
_ERROR = 160
_FALLBACK_NAME = 60

# A section holds 3000 characters; chunks stop short of it.
_SECTION_BUDGET = 2900
# `watching` for many watches: the section texts together stay under this.
_WATCHING_BUDGET = 9000
_LIST_SHOWN = 5
_SUMMARY_LIST_SHOWN = 10
_SCHEDULE_TIMES_SHOWN = 6

EVENT_EMOJI: dict[Event, str] = {
    Event.FAILED: ":x:",
    Event.ABORTED: ":no_entry_sign:",
    Event.EXPIRING: ":hourglass:",
    Event.STUCK: ":hourglass_flowing_sand:",
    Event.MISSED: ":alarm_clock:",
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
    Event.RECOVERED: "Backup recovered",
    Event.NORTHFLANK_PROBLEM: "Can't read Northflank",
    Event.NORTHFLANK_RECOVERED: "Northflank answers again",
}
_NORTHFLANK_EVENTS = frozenset({Event.NORTHFLANK_PROBLEM, Event.NORTHFLANK_RECOVERED})
_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class AlertContext:
    destination_id: str
    destination_name: str
    settings: WatchSettings | None  # None when the watch has since been removed
    # Show Retain / Start backup / Abort: false while BOT_ADMINS is empty.
    write_buttons: bool = False


@dataclass(frozen=True, slots=True)
class AlertView:
    alert: Alert
    resolved_at: datetime | None = None  # set once a recovery resolved it
    # The ledger id the buttons carry; None renders no buttons (the CLI's `check`).
    alert_id: int | None = None
    acknowledged_by: str | None = None
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None
    snoozed_by: str | None = None

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_by is not None or self.acknowledged_at is not None


# ----- alerts --------------------------------------------------------------------------------


def group_for_digest(alerts: Sequence[Alert]) -> list[list[Alert]]:
    """One poll's alerts for one channel, as messages of at most MAX_ALERTS_PER_MESSAGE.

    The groups are as even as they can be (with at most 4 a message, 9 alerts
    make 3, 3 and 3, not 4, 4 and 1), so no message is a lone straggler; the
    order is kept.
    """
    if not alerts:
        return []
    count = -(-len(alerts) // MAX_ALERTS_PER_MESSAGE)
    size, extra = divmod(len(alerts), count)
    groups: list[list[Alert]] = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        groups.append(list(alerts[start:end]))
        start = end
    return groups


def alert_message(views: Sequence[AlertView], context: AlertContext, now: datetime) -> Reply:
    """The channel message for one digest group, first posted and later updated.

    A resolved alert keeps its details but gets a "Resolved" line and a
    struck-through title; the others render exactly as when first posted.
    An acknowledged or snoozed one says by whom. Each alert with a ledger id
    has its buttons right under its section.
    """
    # Imported here, not at the top: alert_buttons imports AlertView and _clip from
    # this module, so a top-level import would be circular.
    from bot.slack.alert_buttons import actions_block, buttons_for

    if not views:
        raise ValueError("an alert message needs at least one alert")
    destination = _clip(context.destination_name, _DESTINATION_NAME)
    body: list[Block] = []
    for view in views:
        body.append(_section("\n".join(_alert_lines(view, context, now))))
        if view.alert_id is not None:
            actions = actions_block(buttons_for(view, context), view)
            if actions is not None:
                body.append(actions)
    if len(views) == 1:
        view = views[0]
        title = f"{EVENT_TITLE[view.alert.event]}: {_subject_name(view.alert, context)}"
        resolved = "Resolved: " if view.resolved_at is not None else ""
        header = _header(resolved + title)
        fallback = f"{resolved}{EVENT_TITLE[view.alert.event]}: "
        if view.alert.event in _NORTHFLANK_EVENTS:
            fallback += destination
        else:
            subject = _clip(_subject_name(view.alert, context), _FALLBACK_NAME)
            fallback += f"{subject} in {destination}"
    else:
        kind = (
            "alerts"
            if any(view.alert.event in _NORTHFLANK_EVENTS for view in views)
            else "backup alerts"
        )
        header = _header(f"{len(views)} {kind} · {context.destination_name}")
        counts = Counter(EVENT_WORD[view.alert.event].lower() for view in views)
        fallback = f"{len(views)} {kind} in {destination}: " + ", ".join(
            f"{n} {word}" for word, n in counts.items()
        )
        resolved_count = sum(1 for view in views if view.resolved_at is not None)
        if resolved_count:
            fallback += f" ({resolved_count} resolved)"
    blocks: list[Block] = [header, *body, _context(_alert_context_line(context))]
    return {"text": fallback, "blocks": blocks}


def recovery_reply(
    alert: Alert, resolved: Sequence[Alert], context: AlertContext, now: datetime
) -> Reply:
    """The thread reply that says a problem is over. Short: the alert above has the details."""
    destination = _clip(context.destination_name, _DESTINATION_NAME)
    if alert.event is Event.NORTHFLANK_RECOVERED:
        text = f":white_check_mark: Northflank answers again; polling *{destination}* works."
        if resolved:
            since = min(problem.occurred_at for problem in resolved)
            outage = humanize.duration((alert.occurred_at - since).total_seconds())
            text += f" It had failed since {date(since)}, for {outage}."
        fallback = f"Northflank answers again; polling {destination} works."
        return {"text": fallback, "blocks": [_section(text)]}

    backup = alert.backup
    addon = alert.addon or (backup.addon if backup else None)
    addon_name = _clip(addon.name, _ADDON_NAME) if addon else "the addon"
    if backup is not None:
        name = _clip(backup.name, _BACKUP_NAME)
        facts = [humanize.size(backup.size_bytes)]
        if backup.completed_at is not None:
            facts.insert(0, f"completed {date(backup.completed_at)}")
            facts.append(f"took {humanize.duration(backup.duration_seconds)}")
        text = (
            f":white_check_mark: *Recovered*: addon *{addon_name}* has a good backup again, "
            f"*{name}* ({', '.join(facts)})."
        )
        fallback = (
            f"Recovered: {_clip(addon.name, _FALLBACK_NAME) if addon else 'the addon'} "
            f"completed backup {_clip(backup.name, _FALLBACK_NAME)}"
        )
    else:
        text = f":white_check_mark: *Recovered*: addon *{addon_name}* has a good backup again."
        fallback = f"Recovered: {_clip(addon.name, _FALLBACK_NAME) if addon else 'the addon'}"
    if resolved:
        shown = [
            f"{EVENT_WORD[problem.event].lower()} *{_clip(_subject_name(problem, context), 60)}*"
            for problem in resolved[:_LIST_SHOWN]
        ]
        if len(resolved) > _LIST_SHOWN:
            shown.append(f"{len(resolved) - _LIST_SHOWN} more")
        text += "\nThis resolves " + _join(shown, "and") + "."
    return {"text": fallback, "blocks": [_section(text)]}


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
        lines.append(f"schedule: {_schedule_words(alert.schedule)}")
        if alert.expected_at is not None:
            due = humanize.time_until(alert.expected_at, now)
            lines.append(f"was due {date(alert.expected_at)} ({due})")
        if backup is not None:
            lines.append(
                f"latest backup *{_clip(backup.name, _BACKUP_NAME)}* "
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
    return lines


def _problem_lines(alert: Alert, context: AlertContext, now: datetime) -> list[str]:
    since = humanize.time_until(alert.occurred_at, now)
    problem = _clip(alert.problem or "Northflank did not answer.", _PROBLEM)
    return [
        problem,
        f"failing since {date(alert.occurred_at)} ({since})",
        "What to check: that `NORTHFLANK_API_TOKEN` is still valid; that its API role has "
        # Our own `>` escaped too: Slack asks for it in every mrkdwn text.
        "*Account &gt; BackupDestinations &gt; General &gt; Read*; that destination "
        f"{code(context.destination_id, _ID)} still exists; and Northflank's status page, "
        "status.northflank.com. I keep polling and will say here when it works again.",
    ]


def _alert_context_line(context: AlertContext) -> str:
    destination = (
        f"destination *{_clip(context.destination_name, _DESTINATION_NAME)}* "
        f"{code(context.destination_id, _ID)}"
    )
    if context.settings is None:
        return f"{destination} · no longer watched in this channel"
    return f"{destination} · {_settings_words(context.settings)}"


def _subject_name(alert: Alert, context: AlertContext) -> str:
    """What the alert is about, unescaped: a backup, an addon or the destination."""
    if alert.event in _NORTHFLANK_EVENTS:
        return context.destination_name
    if alert.event is Event.MISSED:
        addon = _addon(alert)
        return addon.name if addon else alert.subject
    return alert.backup.name if alert.backup else alert.subject


def _subject_mrkdwn(alert: Alert, context: AlertContext) -> str:
    if alert.event in _NORTHFLANK_EVENTS:
        return f"destination *{_clip(context.destination_name, _DESTINATION_NAME)}*"
    if alert.event is Event.MISSED:
        return f"addon *{_clip(_subject_name(alert, context), _ADDON_NAME)}*"
    return f"*{_clip(_subject_name(alert, context), _BACKUP_NAME)}*"


def _addon(alert: Alert) -> Ref | None:
    return alert.addon or (alert.backup.addon if alert.backup else None)


def _project(alert: Alert) -> Ref | None:
    return alert.project or (alert.backup.project if alert.backup else None)


def _where(alert: Alert, *, with_addon_name: bool = True) -> str:
    """ "addon *orders-db* (postgresql 16.2) · project *shop*" """
    backup = alert.backup
    addon = _addon(alert)
    project = _project(alert)
    kind = " ".join(p for p in (backup.addon_type, backup.addon_version) if p) if backup else ""
    kind_words = f"({_clip(kind, _ADDON_KIND)})" if kind else ""
    parts = []
    if addon is not None and with_addon_name:
        parts.append(f"addon *{_clip(addon.name, _ADDON_NAME)}* {kind_words}".rstrip())
    elif kind_words:
        parts.append(kind_words)
    if project is not None:
        parts.append(f"project *{_clip(project.name, _PROJECT_NAME)}*")
    return " · ".join(parts)


def _schedule_words(schedule: Schedule | None) -> str:
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
    return _join(items, "and")


# ----- watch, and the announcement -------------------------------------------------------------


def watch_summary(
    destination: Destination,
    settings: WatchSettings,
    summary: DestinationSummary,
    *,
    created: bool,
    now: datetime,
) -> Reply:
    """The ephemeral reply to `/backups watch`: what the channel will hear, and how things are."""
    name = _clip(destination.name, _DESTINATION_NAME)
    dest = f"*{name}* {code(destination.id, _ID)}"
    title = (
        f"This channel now watches {dest}."
        if created
        else f"This channel now watches {dest} with new settings."
    )
    lines = [title, _settings_sentence(settings), "", _counts_words(summary)]
    if not summary.complete:
        lines.append(
            ":hourglass_flowing_sand: I'm still reading the older backups of this destination, "
            "so these figures are not final yet."
        )
    lines.append("")
    if summary.failing:
        failing = len(summary.failing)
        lines.append(f"*Failing now* ({failing} addon{'s' if failing != 1 else ''}):")
        lines.extend(_failing_line(backup) for backup in summary.failing[:_SUMMARY_LIST_SHOWN])
        if len(summary.failing) > _SUMMARY_LIST_SHOWN:
            lines.append(f"…and {len(summary.failing) - _SUMMARY_LIST_SHOWN} more.")
    else:
        lines.append(":white_check_mark: No addon is failing now.")
    if summary.next_expiries:
        lines.append("")
        lines.append("*Expiring next:*")
        lines.extend(_expiry_line(backup, now) for backup in summary.next_expiries[:3])
    blocks: list[Block] = [_section(text) for text in _chunk(lines)]
    blocks.append(
        _context(
            f"settings: {_settings_words(settings)} · change them with "
            "`/backups watch DEST events=… expiry=… stuck=… remind=… quiet=…`"
        )
    )
    fallback = (
        f"This channel now watches {name}."
        if created
        else f"This channel now watches {name} with new settings."
    )
    return {"text": fallback, "blocks": blocks}


def watch_announcement(destination: Destination, settings: WatchSettings, user_id: str) -> Reply:
    """Posted in the channel, so everyone there knows why alerts will appear."""
    who = mention(user_id) or "Someone"
    name = _clip(destination.name, _DESTINATION_NAME)
    text = (
        f"{who} asked me to watch *{name}* here: {_settings_sentence(settings)} "
        "`/backups watching` shows what this channel watches."
    )
    return {"text": f"{who} asked me to watch {name} here.", "blocks": [_section(text)]}


def _counts_words(summary: DestinationSummary) -> str:
    """ "1,234 backups: 1,200 completed, 3 failed, …", most common first."""
    total = f"{summary.total:,} backup{'s' if summary.total != 1 else ''}"
    ordered = sorted(summary.counts.items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{n:,} {_clip(status, _STATUS)}" for status, n in ordered[:8]]
    if len(ordered) > 8:
        parts.append(f"{sum(n for _, n in ordered[8:]):,} other")
    return f"{total}: {', '.join(parts)}" if parts else f"{total}."


def _failing_line(backup: Backup) -> str:
    addon = f"addon *{_clip(backup.addon.name, _ADDON_NAME)}*" if backup.addon else "no addon"
    when = backup.completed_at or backup.created_at
    return (
        f"{STATUS_EMOJI[backup.status]} {addon}: *{_clip(backup.name, _BACKUP_NAME)}* "
        f"{code(backup.status_text, _STATUS)} {date(when)}"
    )


def _expiry_line(backup: Backup, now: datetime) -> str:
    addon = f" (addon *{_clip(backup.addon.name, _ADDON_NAME)}*)" if backup.addon else ""
    left = humanize.time_until(backup.expires_at, now)
    return (
        f"• *{_clip(backup.name, _BACKUP_NAME)}*{addon} expires {left} ({date(backup.expires_at)})"
    )


# ----- watching --------------------------------------------------------------------------------


def watching_list(items: Sequence[tuple[Watch, PollStatus | None]], now: datetime) -> Reply:
    """The reply to `/backups watching`: each watch, its settings, its state and its last poll.

    Watches are shown in full while the total fits _WATCHING_BUDGET, then in
    one line each, then counted: fifty watches with long errors still make a
    message Slack accepts.
    """
    if not items:
        return {
            "text": "This channel watches no backup destination.",
            "blocks": [
                _section(
                    "This channel watches no backup destination yet. Start with "
                    "`/backups watch DEST` (a destination id or name; "
                    "`/backups destinations` lists them)."
                )
            ],
        }
    reserve = 200  # room for the "…and N more" line
    entries: list[str] = []
    used = 0
    for index, (watch, status) in enumerate(items):
        for entry in (_watch_entry(watch, status, now), _watch_line(watch, status, now)):
            if used + len(entry) + 2 + reserve <= _WATCHING_BUDGET:
                entries.append(entry)
                used += len(entry) + 2
                break
        else:
            rest = len(items) - index
            entries.append(f"…and {rest} more watch{'es' if rest != 1 else ''}.")
            break
    count = len(items)
    blocks: list[Block] = [_header("What this channel watches")]
    blocks.extend(_section(text) for text in _chunk(entries, separator="\n\n"))
    blocks.append(
        _context(
            "`/backups watch DEST ...` changes settings · `/backups mute DEST 8h` quiets one · "
            "`/backups unwatch DEST` stops one"
        )
    )
    text = f"This channel watches {count} backup destination{'s' if count != 1 else ''}."
    return {"text": text, "blocks": blocks}


def _watch_entry(watch: Watch, status: PollStatus | None, now: datetime) -> str:
    lines = [_watch_title(watch), _settings_words(watch.settings)]
    if watch.muted(now) and watch.muted_until is not None:
        left = humanize.time_until(watch.muted_until, now)
        lines.append(f":mute: muted until {date(watch.muted_until)} ({left})")
    if watch.state is WatchState.BROKEN:
        reason = _clip(watch.state_reason, _REASON) if watch.state_reason else "no reason given"
        lines.append(f":warning: I can't post here: {reason}")
    elif watch.state is WatchState.DISABLED:
        reason = _clip(watch.state_reason, _REASON) if watch.state_reason else "no reason given"
        lines.append(f":no_entry: Disabled, I no longer poll for this channel: {reason}")
    lines.append(_last_poll_words(status, now))
    if status is not None and status.consecutive_failures > 0:
        failures = status.consecutive_failures
        since = f" since {date(status.failing_since)}" if status.failing_since else ""
        error = f": {_clip(status.last_error, _ERROR)}" if status.last_error else ""
        lines.append(
            f":warning: the last {failures} poll{'s' if failures != 1 else ''} failed{since}{error}"
        )
    return "\n".join(lines)


def _watch_line(watch: Watch, status: PollStatus | None, now: datetime) -> str:
    """One watch in one line, for when the full entries no longer fit."""
    flags = []
    if watch.state is not WatchState.ACTIVE:
        flags.append(f":warning: {watch.state.value}")
    if watch.muted(now):
        flags.append(":mute: muted")
    if status is not None and status.consecutive_failures > 0:
        flags.append(":warning: polls failing")
    flags.append(_last_poll_words(status, now))
    return " · ".join([_watch_title(watch), *flags])


def _watch_title(watch: Watch) -> str:
    name = _clip(watch.destination_name, _DESTINATION_NAME)
    return f"*{name}* {code(watch.destination_id, _ID)}"


def _last_poll_words(status: PollStatus | None, now: datetime) -> str:
    if status is None or status.last_poll_at is None:
        return "not polled yet"
    if status.last_poll_at >= now - timedelta(minutes=1):
        return "last polled just now"
    return f"last polled {humanize.time_until(status.last_poll_at, now)}"


# ----- words shared by several replies --------------------------------------------------------


def _settings_words(settings: WatchSettings) -> str:
    """Compact, one line: "events failed, stuck · stuck 6h · remind 1d · quiet 22:00–07:00 UTC".

    Like expiry and stuck, reminders are named only when a watched event gets them.
    """
    events = [event.value for event in WATCHABLE_EVENTS if event in settings.events]
    parts = [f"events {', '.join(events)}" if events else "no backup events"]
    if Event.EXPIRING in settings.events:
        parts.append(f"expiry {_compact_duration(settings.expiry)}")
    if Event.STUCK in settings.events:
        parts.append(f"stuck {_compact_duration(settings.stuck)}")
    if settings.events & REMINDED_EVENTS:
        remind = settings.remind
        parts.append(f"remind {_compact_duration(remind)}" if remind else "no reminders")
    if settings.quiet is not None:
        parts.append(f"quiet {escape(settings.quiet.describe())}")
    return " · ".join(parts)


def _settings_sentence(settings: WatchSettings) -> str:
    """ "I'll post when a backup fails, is aborted or …" """
    backup_phrases = {
        Event.FAILED: "fails",
        Event.ABORTED: "is aborted",
        Event.EXPIRING: f"will expire within {_compact_duration(settings.expiry)}",
        Event.STUCK: f"is stuck for over {_compact_duration(settings.stuck)}",
    }
    chosen = [phrase for event, phrase in backup_phrases.items() if event in settings.events]
    whens = [f"a backup {_join(chosen, 'or')}"] if chosen else []
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
            f" Until someone acknowledges a {_join(reminded, 'or')} alert, I'll remind its "
            f"thread every {_compact_duration(settings.remind)}."
        )
    elif reminded:
        sentence += " I won't send reminders about open alerts."
    return sentence + _quiet_words(settings)


def _quiet_words(settings: WatchSettings) -> str:
    if settings.quiet is None:
        return ""
    return (
        f" During quiet hours ({escape(settings.quiet.describe())}) I hold alerts and post "
        "them together when the quiet hours end."
    )


def _compact_duration(value: timedelta) -> str:
    """A setting as it would be typed: 72h -> "3d", 90m -> "1h30m", 36h -> "1d12h"."""
    total = int(value.total_seconds())
    if total <= 0:
        return "0m"
    parts = []
    for unit, seconds in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, total = divmod(total, seconds)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts)


def _join(items: Sequence[str], word: str) -> str:
    """ "a", "a and b", "a, b and c" """
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {word} {items[-1]}"


def _chunk(lines: Iterable[str], separator: str = "\n") -> list[str]:
    """Lines packed into section texts of at most _SECTION_BUDGET characters."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        if current and size + len(separator) + len(line) > _SECTION_BUDGET:
            chunks.append(separator.join(current))
            current, size = [], 0
        size += len(line) + (len(separator) if current else 0)
        current.append(line)
    if current:
        chunks.append(separator.join(current))
    # A trailing blank line would only pad the section.
    return [chunk.strip("\n") or "-" for chunk in chunks]


def _clip(text: str, limit: int) -> str:
    """Outside text, escaped, on one line, in at most `limit` characters *after* escaping.

    Clipping after escaping keeps the budgets true for names made of `&` (five
    characters each once escaped) and never cuts an escape in half.
    """
    flat = " ".join(text.split())
    escaped = escape(flat)
    if len(escaped) <= limit:
        return escaped
    pieces: list[str] = []
    used = 0
    for char in flat:
        piece = escape(char)
        if used + len(piece) > limit - 1:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces) + "…"
