"""Any message the bot posts in a channel (bot/core/messages.py), as Block Kit. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import assert_never

from bot.core.messages import (
    AlertDigest,
    ChannelMessage,
    DisconnectedNote,
    PreparedMessage,
    RecoveryNote,
    ReminderNote,
    ReportMessage,
    WatchAnnouncement,
    WriteResultNote,
)
from bot.slack.render.alert_message import alert_message
from bot.slack.render.connections import disconnected_note
from bot.slack.render.kit import Reply
from bot.slack.render.report import report_reply
from bot.slack.render.thread_notes import note_reply, recovery_reply
from bot.slack.render.watch_replies import watch_announcement


def channel_message(message: ChannelMessage, now: datetime) -> Reply:
    match message:
        case AlertDigest(views, context):
            return alert_message(views, context, now)
        case RecoveryNote(alert, resolved, context):
            return recovery_reply(alert, resolved, context)
        case WatchAnnouncement(destination, settings, user_id):
            return watch_announcement(destination, settings, user_id)
        case ReminderNote() | WriteResultNote():
            return note_reply(message)
        case ReportMessage():
            # Posted as a message only when it has no chart to carry it (an empty period).
            return report_reply(message)
        case DisconnectedNote():
            return disconnected_note(message)
        case PreparedMessage(payload):
            # Rendered by the version that queued it: posted as it is.
            return payload
        case _:
            assert_never(message)
