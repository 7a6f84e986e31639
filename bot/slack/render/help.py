"""`/backups help`. Pure."""

from __future__ import annotations

from bot.slack.render.kit import Reply, message

# The ranges and defaults below are bot.core.durations' *_RANGE and bot.core.watches' DEFAULT_*.
HELP_TEXT = "\n".join(
    [
        "*backup-bot* lists and watches your Northflank backup destinations.",
        "",
        "*Look*",
        "`/backups destinations` — the backup destinations the bot's token can see",
        "`/backups list DEST` — newest backups first, with a *Next page* button",
        "`/backups list DEST status=failed,aborted` — only those statuses",
        "`/backups list DEST addon=orders-db limit=20` — one addon, 20 a page (the most)",
        "",
        "*Watch* (alerts are posted in this channel)",
        "`/backups watch DEST` — alert when a backup fails, aborts, gets stuck, "
        "misses its schedule, is about to expire, or completes but looks wrong (empty, far "
        "smaller or slower than usual)",
        "`/backups watch DEST events=failed,aborted` — only those events; choose from "
        "failed, aborted, expiring, stuck, missed and anomaly, or `events=all`",
        "`/backups watch DEST expiry=24h stuck=2h` — warn 24h before a backup expires "
        "(1h to 90d, default 3d); call a backup stuck after 2h running (10m to 30d, "
        "default 6h)",
        "`/backups watch DEST remind=12h` — remind in its thread every 12h (1h to 30d) while "
        "a failed, stuck, missed or anomaly alert is open and unacknowledged (default 1d); "
        "`/backups watch DEST remind=off` for no reminders",
        "`/backups watch DEST quiet=22:00-07:00 tz=Europe/Berlin` — hold alerts during those "
        "hours and post them together when they end (`tz=` is a time zone name, UTC if left "
        "out); `/backups watch DEST quiet=off` removes them",
        "`/backups watch DEST report=off` — no weekly report (by default one comes every "
        "Monday 09:00, in the `tz=` of quiet hours or UTC)",
        "`/backups watching` — what this channel watches, with its settings and the last poll",
        "`/backups unwatch DEST` — stop watching it here",
        "`/backups mute DEST 8h` — no alerts from it here for 8 hours (1m to 30d)",
        "`/backups unmute DEST` — alerts again now",
        "`/backups audit` — the last 20 changes and button actions in this channel: who, "
        "what and when",
        "`/backups report DEST days=30` — post a summary and a chart of the last 30 days "
        "here (1 to 90 days)",
        "`/backups help` — this message",
        "`/backups connect` (admins: a form takes a Northflank token), `/backups connections`, "
        "`/backups use NAME` (this channel's), `/backups disconnect NAME`, "
        "`/backups admins` (an app in several workspaces: _admins add @someone_, _remove_)",
        "",
        "*On each alert*",
        "*Acknowledge* — you're on it: says so on the alert and stops its reminders",
        "*Snooze…* — 1 hour, 24 hours or 7 days without that event for that addon here",
        "*Show backups* — the addon's backups, visible only to you",
        "*Retain* (expiring backup), *Start backup* (failed or missed) and *Abort* (stuck) "
        "change things in Northflank: they appear only when the bot has admins (BOT_ADMINS), "
        "only those may use them, each after a confirmation, and `/backups audit` records "
        "each press.",
        "",
        "DEST is a destination id or its name (quote names with spaces). "
        "Durations look like `90m`, `6h`, `3d`, `1w` or `1h30m`. "
        "Watching and muting may be limited to the bot's admins. "
        "Answers are visible only to you.",
    ]
)


def help_reply() -> Reply:
    # One section: HELP_TEXT stays under 3000 characters (tests/slack/render/test_help.py checks).
    return message(HELP_TEXT)
