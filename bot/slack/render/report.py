"""A health report in Slack's words: the comment posted with its chart. Pure.

The sentences are bot.core.reports.summary_lines (plain text, names from the
API among them), escaped here for mrkdwn. A report with backups goes out as a
PNG with this text as its comment (bot/slack/report_upload.py); an empty one
as a message, since an empty chart says nothing.
"""

from __future__ import annotations

from bot.core.connections import shown_id
from bot.core.messages import ReportMessage
from bot.core.report_summary import summary_lines
from bot.core.reports import HealthReport
from bot.slack.render import kit
from bot.slack.render.kit import Reply
from bot.slack.render.mrkdwn import escape, mention, truncate

# files.completeUploadExternal's initial_comment is a message text: kept well
# under the 4,000 characters Slack shows before cutting a message short.
COMMENT_LIMIT = 3500


def report_comment(message: ReportMessage) -> str:
    lines = summary_lines(message.report)
    heading = f"*{escape(lines[0])}*"
    if message.requested_by and (who := mention(message.requested_by)):
        heading += f" (asked for by {who})"
    return truncate("\n".join([heading, *(escape(line) for line in lines[1:])]), COMMENT_LIMIT)


def report_reply(message: ReportMessage) -> Reply:
    """The report as a message of its own (no chart): an empty period, say."""
    return kit.message(report_comment(message))


def report_filename(report: HealthReport) -> str:
    # Only the id's safe characters: the name of a file people download.
    safe = "".join(c for c in shown_id(report.destination_id) if c.isalnum() or c in "-_")[:60]
    return f"backup-report-{safe or 'destination'}-{report.until:%Y-%m-%d}.png"


def report_title(report: HealthReport) -> str:
    return truncate(f"Backups of {report.destination_name}, last {report.days} days", 200)
