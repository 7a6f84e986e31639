"""The App Home tab: every watch by channel, its health, and the open alerts. Pure.

A Home view holds at most 100 blocks. The open alerts come first in the
budget (they are what someone may act on), up to OPEN_ALERTS_SHOWN of them;
the watches take what is left, and when they do not fit, the view says how
many it left out and where to see them, rather than being refused by Slack.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.core import humanize
from bot.core.connections import shown_id
from bot.core.handling import StoredAlert
from bot.services.home import ChannelWatches, DestinationHealth, HomeOverview
from bot.slack.render import kit
from bot.slack.render.alert_buttons import home_actions_block
from bot.slack.render.kit import Block
from bot.slack.render.mrkdwn import clip, code, date, mention
from bot.slack.render.words import EVENT_EMOJI, EVENT_WORD

MAX_BLOCKS = 100
HOME_REPORT_ACTION = "home_report"
# The report "Report to me" posts: the same period as `/backups report`.
HOME_REPORT_DAYS = 30
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,30}")
_NAME = 60


def home_view(overview: HomeOverview) -> dict[str, Any]:
    now = overview.at
    blocks: list[Block] = [kit.header("Backup health"), kit.context(_headline(overview))]
    alert_blocks = _alert_blocks(overview, now)
    # What the watches may use: all that the alerts and the footer leave.
    budget = MAX_BLOCKS - len(blocks) - len(alert_blocks) - 1
    blocks.extend(_watch_blocks(overview.channels, now, budget))
    blocks.extend(alert_blocks)
    blocks.append(
        kit.context(
            f"Updated {date(now)} · from what I have stored, no Northflank request · "
            "`/backups watch DEST` in a channel to add one"
        )
    )
    return {"type": "home", "blocks": blocks}


def _headline(overview: HomeOverview) -> str:
    if not overview.channels:
        return "No channel watches a destination yet. Type `/backups watch DEST` in a channel."
    channels = len(overview.channels)
    watches = overview.watch_count
    problems = overview.open_alert_total
    return (
        f"{watches} watch{'es' if watches != 1 else ''} in {channels} "
        f"channel{'s' if channels != 1 else ''} · "
        + (
            f":red_circle: {problems} open alert{'s' if problems != 1 else ''}"
            if problems
            else ":white_check_mark: no open alerts"
        )
    )


def _watch_blocks(channels: tuple[ChannelWatches, ...], now: datetime, budget: int) -> list[Block]:
    blocks: list[Block] = []
    total = sum(len(c.destinations) for c in channels)
    shown = 0
    for channel in channels:
        # A channel needs its title and at least one destination, and room for the
        # "left out" line if anything is left out after it.
        if len(blocks) + 2 > budget - 1 and shown < total:
            break
        blocks.append(kit.section(f"*{_channel(channel.channel)}*"))
        for health in channel.destinations:
            if len(blocks) + 1 > budget - 1 and shown + 1 < total:
                break
            blocks.append(_destination_block(health, now))
            shown += 1
    if shown < total:
        left = total - shown
        blocks.append(
            kit.context(
                f"… and {left} more watch{'es' if left != 1 else ''} not shown here "
                "(a Home tab holds 100 blocks): `/backups watching` in each channel lists them."
            )
        )
    return blocks


def _destination_block(health: DestinationHealth, now: datetime) -> Block:
    watch = health.watch
    name = clip(watch.destination_name, _NAME)
    if health.healthy:
        state = ":white_check_mark: ok"
    else:
        count = health.open_problems
        state = f":red_circle: {count} open problem{'s' if count != 1 else ''}"
    parts = [f"*{name}* {code(shown_id(watch.destination_id), 40)}", state, _last_poll(health, now)]
    if health.success_rate is not None:
        parts.append(f"7 days: {health.success_rate:.1%} of {health.backups:,} good")
    elif health.backups == 0:
        parts.append("7 days: no backups")
    if health.next_expiry is not None:
        parts.append(f"next expiry {date(health.next_expiry.expires_at)}")
    if watch.muted(now):
        parts.append(":mute: muted")
    block = kit.section(" · ".join(parts))
    block["accessory"] = {
        "type": "button",
        "action_id": HOME_REPORT_ACTION,
        "text": {"type": "plain_text", "text": "Report to me"},
        "value": watch.destination_id,
    }
    return block


def _alert_blocks(overview: HomeOverview, now: datetime) -> list[Block]:
    if not overview.open_alerts:
        return []
    blocks: list[Block] = [{"type": "divider"}, kit.header("Open alerts")]
    for stored in overview.open_alerts:
        blocks.append(kit.section(_alert_line(stored, now)))
        blocks.append(
            home_actions_block(stored.id, acknowledged=stored.acknowledged_by is not None)
        )
    hidden = overview.open_alert_total - len(overview.open_alerts)
    if hidden > 0:
        blocks.append(
            kit.context(
                f"… and {hidden} older open alert{'s' if hidden != 1 else ''} in the channels."
            )
        )
    return blocks


def _alert_line(stored: StoredAlert, now: datetime) -> str:
    alert = stored.alert
    subject = alert.backup.name if alert.backup else (alert.addon.name if alert.addon else None)
    what = f"*{clip(subject, _NAME)}*" if subject else "the destination"
    line = (
        f"{EVENT_EMOJI[alert.event]} {EVENT_WORD[alert.event]}: {what} · "
        f"{_channel(stored.channel)} · raised {date(stored.created_at)}"
    )
    if stored.acknowledged_by is not None:
        line += f" · :eyes: acknowledged by {mention(stored.acknowledged_by) or 'someone'}"
    return line


def _last_poll(health: DestinationHealth, now: datetime) -> str:
    status = health.status
    if status is None or status.last_poll_at is None:
        return "not polled yet"
    failing = " :warning: polls failing" if status.consecutive_failures else ""
    return f"polled {humanize.time_until(status.last_poll_at, now)}{failing}"


def _channel(channel_id: str) -> str:
    # Only a real channel id goes inside <#...>: anything else could be a link in disguise.
    return f"<#{channel_id}>" if _CHANNEL_ID.fullmatch(channel_id) else code(channel_id, 40)
