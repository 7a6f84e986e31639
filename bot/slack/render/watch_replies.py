"""The replies of `watch`, `unwatch`, `watching`, `mute`, `unmute` and `audit`, and the
announcement a new watch posts in its channel. Pure: `now` is a parameter.

`watch_reply` turns what the watch service did (bot/services/watching.py)
into the private answer; the other functions are its pieces.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import assert_never

from bot.core import humanize
from bot.core.anomalies import THRESHOLDS
from bot.core.backups import Backup, Destination
from bot.core.connections import shown_id
from bot.core.destination_state import MissedRun
from bot.core.watches import (
    DestinationSummary,
    Event,
    PollStatus,
    Watch,
    WatchSettings,
    WatchState,
)
from bot.core.weekly_reports import next_report_time
from bot.services.watching import (
    AuditTrail,
    Muted,
    NotAnAdmin,
    NotMuted,
    NotWatched,
    TooManyWatches,
    Unmuted,
    Unwatched,
    Watching,
    WatchList,
    WatchOutcome,
)
from bot.slack.render import explain, kit
from bot.slack.render.audit import audit_list
from bot.slack.render.kit import Block, Reply
from bot.slack.render.mrkdwn import clip, code, date, escape, mention
from bot.slack.render.words import (
    EVENT_EMOJI,
    STATUS_EMOJI,
    schedule_words,
    settings_sentence,
    settings_words,
)

# Budgets, in characters after escaping, for each piece of outside text.
_BACKUP_NAME = 100
_ADDON_NAME = 60
_DESTINATION_NAME = 80
_STATUS = 30
_ID = 40
_REASON = 160
_ERROR = 160
# `watching` for many watches: the section texts together stay under this (fifty
# ordinary watches fit in full; Slack refuses a message at about 13k).
_WATCHING_BUDGET = 9600
_SUMMARY_LIST_SHOWN = 10
CANNOT_POST_HERE = (
    ":warning: I couldn't post in this channel (a private channel I'm not in?). "
    "Invite me with `/invite @backup-bot` so that alerts can arrive; until then they are kept."
)


def watch_reply(outcome: WatchOutcome, now: datetime) -> Reply:
    """The private answer to `watch`, `unwatch`, `watching`, `mute`, `unmute` or `audit`."""
    match outcome:
        case NotAnAdmin(admins):
            return kit.message(
                "Only the bot's admins (BOT_ADMINS) can change what this channel watches."
                + explain.ask_admins(admins)
            )
        case TooManyWatches(count):
            return kit.message(
                f"This channel already watches {count} destinations, the most I allow in "
                "one channel. `/backups unwatch DEST` one first, or use another channel."
            )
        case Watching(destination, settings, summary, created, announced):
            reply = watch_summary(destination, settings, summary, created=created, now=now)
            if not announced:
                # Saved all the same: alerts wait in the outbox until the bot can post.
                reply["blocks"].append(kit.section(CANNOT_POST_HERE))
            return reply
        case NotWatched(reference, watched):
            known = ", ".join(code(destination_id) for destination_id in watched)
            hint = f" It watches {known}." if known else " It watches nothing yet."
            return kit.message(f"This channel doesn't watch {code(reference, 40)}.{hint}")
        case Unwatched(watch):
            return kit.message(
                f"This channel no longer watches *{escape(watch.destination_name)}* "
                f"{code(shown_id(watch.destination_id))}. Alerts already posted stay as they are."
            )
        case Muted(watch, until):
            return kit.message(
                f"Muted *{escape(watch.destination_name)}* in this channel until {date(until)}. "
                "Alerts due meanwhile are recorded but not posted. "
                f"`/backups unmute {shown_id(watch.destination_id)}` ends it early."
            )
        case NotMuted(watch):
            return kit.message(f"*{escape(watch.destination_name)}* is not muted here.")
        case Unmuted(watch):
            return kit.message(
                f"Unmuted *{escape(watch.destination_name)}*: new alerts are posted here again."
            )
        case WatchList(items):
            return watching_list(items, now)
        case AuditTrail(entries):
            return audit_list(entries, now)
        case _:
            assert_never(outcome)


def watch_summary(
    destination: Destination,
    settings: WatchSettings,
    summary: DestinationSummary,
    *,
    created: bool,
    now: datetime,
) -> Reply:
    """The ephemeral reply to `/backups watch`: what the channel will hear, and how things are."""
    name = clip(destination.name, _DESTINATION_NAME)
    dest = f"*{name}* {code(shown_id(destination.id), _ID)}"
    title = (
        f"This channel now watches {dest}."
        if created
        else f"This channel now watches {dest} with new settings."
    )
    lines = [title, settings_sentence(settings), "", _counts_words(summary)]
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
    if summary.missed:
        missed = len(summary.missed)
        lines.append(
            f"*Missing its latest scheduled backup* ({missed} addon{'s' if missed != 1 else ''}):"
        )
        lines.extend(_missed_line(run, now) for run in summary.missed[:_SUMMARY_LIST_SHOWN])
        if missed > _SUMMARY_LIST_SHOWN:
            lines.append(f"…and {missed - _SUMMARY_LIST_SHOWN} more.")
    if summary.next_expiries:
        lines.append("")
        lines.append("*Expiring next:*")
        lines.extend(_expiry_line(backup, now) for backup in summary.next_expiries[:3])
    blocks: list[Block] = [kit.section(text) for text in kit.chunk(lines)]
    blocks.append(
        kit.context(
            f"settings: {settings_words(settings)} · change them with "
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
    name = clip(destination.name, _DESTINATION_NAME)
    text = (
        f"{who} asked me to watch *{name}* here: {settings_sentence(settings)} "
        "`/backups watching` shows what this channel watches."
    )
    return {"text": f"{who} asked me to watch {name} here.", "blocks": [kit.section(text)]}


def _counts_words(summary: DestinationSummary) -> str:
    """ "1,234 backups: 1,200 completed, 3 failed, …", most common first."""
    total = f"{summary.total:,} backup{'s' if summary.total != 1 else ''}"
    ordered = sorted(summary.counts.items(), key=lambda item: (-item[1], item[0]))
    parts = [f"{n:,} {clip(status, _STATUS)}" for status, n in ordered[:8]]
    if len(ordered) > 8:
        parts.append(f"{sum(n for _, n in ordered[8:]):,} other")
    return f"{total}: {', '.join(parts)}" if parts else f"{total}."


def _failing_line(backup: Backup) -> str:
    addon = f"addon *{clip(backup.addon.name, _ADDON_NAME)}*" if backup.addon else "no addon"
    when = backup.completed_at or backup.created_at
    return (
        f"{STATUS_EMOJI[backup.status]} {addon}: *{clip(backup.name, _BACKUP_NAME)}* "
        f"{code(backup.status_text, _STATUS)} {date(when)}"
    )


def _missed_line(run: MissedRun, now: datetime) -> str:
    due = humanize.time_until(run.due, now)
    return (
        f"{EVENT_EMOJI[Event.MISSED]} addon *{clip(run.addon.name, _ADDON_NAME)}*: "
        f"{schedule_words(run.schedule)}, was due {date(run.due)} ({due})"
    )


def _expiry_line(backup: Backup, now: datetime) -> str:
    addon = f" (addon *{clip(backup.addon.name, _ADDON_NAME)}*)" if backup.addon else ""
    left = humanize.time_until(backup.expires_at, now)
    return (
        f"• *{clip(backup.name, _BACKUP_NAME)}*{addon} expires {left} ({date(backup.expires_at)})"
    )


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
                kit.section(
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
    blocks: list[Block] = [kit.header("What this channel watches")]
    blocks.extend(kit.section(text) for text in kit.chunk(entries, separator="\n\n"))
    if any(Event.ANOMALY in watch.settings.events for watch, _ in items):
        # Once for every watch: the thresholds are the same everywhere.
        blocks.append(kit.context(f"{EVENT_EMOJI[Event.ANOMALY]} anomaly: {THRESHOLDS}"))
    blocks.append(
        kit.context(
            "`/backups watch DEST ...` changes settings · `/backups mute DEST 8h` quiets one · "
            "`/backups unwatch DEST` stops one"
        )
    )
    text = f"This channel watches {count} backup destination{'s' if count != 1 else ''}."
    return {"text": text, "blocks": blocks}


def _watch_entry(watch: Watch, status: PollStatus | None, now: datetime) -> str:
    lines = [_watch_title(watch), settings_words(watch.settings)]
    if watch.muted(now) and watch.muted_until is not None:
        left = humanize.time_until(watch.muted_until, now)
        lines.append(f":mute: muted until {date(watch.muted_until)} ({left})")
    if watch.state is WatchState.BROKEN:
        reason = clip(watch.state_reason, _REASON) if watch.state_reason else "no reason given"
        lines.append(f":warning: I can't post here: {reason}")
    elif watch.state is WatchState.DISABLED:
        reason = clip(watch.state_reason, _REASON) if watch.state_reason else "no reason given"
        lines.append(f":no_entry: Disabled, I no longer poll for this channel: {reason}")
    lines.append(f"{_last_poll_words(status, now)} · {_weekly_report_words(watch, now)}")
    if status is not None and status.consecutive_failures > 0:
        failures = status.consecutive_failures
        since = f" since {date(status.failing_since)}" if status.failing_since else ""
        error = f": {clip(status.last_error, _ERROR)}" if status.last_error else ""
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


def _weekly_report_words(watch: Watch, now: datetime) -> str:
    upcoming = next_report_time(watch, now)
    if upcoming is None:
        return "no weekly report"
    # In UTC words rather than a date token: fifty entries must still fit one message.
    muted = " (skipped if still muted)" if watch.muted(now) else ""
    return f"next weekly report {humanize.utc(upcoming)}{muted}"


def _watch_title(watch: Watch) -> str:
    name = clip(watch.destination_name, _DESTINATION_NAME)
    return f"*{name}* {code(shown_id(watch.destination_id), _ID)}"


def _last_poll_words(status: PollStatus | None, now: datetime) -> str:
    if status is None or status.last_poll_at is None:
        return "not polled yet"
    if status.last_poll_at >= now - timedelta(minutes=1):
        return "last polled just now"
    return f"last polled {humanize.time_until(status.last_poll_at, now)}"
