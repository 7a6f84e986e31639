"""A health report in plain sentences, for any surface. Pure.

The Slack renderer escapes them for mrkdwn (bot/slack/render/report.py); the
CLI prints them. Names from the API appear as they are.
"""

from __future__ import annotations

from bot.core import humanize
from bot.core.reports import HealthReport, Problem, ProblemKind, ReportSource

# Problems named one by one; the rest are counted.
PROBLEMS_LISTED = 10


def summary_lines(report: HealthReport) -> list[str]:
    """The report in plain sentences (no markup), the headline first."""
    span = f"{report.days} day{'s' if report.days != 1 else ''}"
    lines = [f"Backup report for {report.destination_name}: the last {span}"]
    if report.read_since is not None:
        lines.append(
            f"The backups reach back only to {humanize.utc(report.read_since)}: "
            + (
                "the bot has watched this destination since then."
                if report.source is ReportSource.STORE
                else "Northflank was read within a listing's page budget."
            )
        )
    if report.is_empty:
        lines.append(
            f"No backups were made in these {span}."
            if report.days != 1
            else "No backups were made in the last day."
        )
        return lines
    rate = report.success_rate
    headline = f"{report.total:,} backup{'s' if report.total != 1 else ''}"
    if rate is not None:
        headline += f", {rate:.1%} successful"
    if not report.problems:
        headline += ", all good" if rate == 1.0 else ""
    lines.append(headline + ".")
    lines.append("By status: " + ", ".join(f"{text} {n:,}" for text, n in report.by_status) + ".")
    counts = [
        f"{report.count(kind)} {kind.value}"
        for kind in ProblemKind
        if report.count(kind) or kind is ProblemKind.FAILED
    ]
    lines.append("Problems: " + ", ".join(counts) + ".")
    for problem in report.problems[:PROBLEMS_LISTED]:
        lines.append("• " + _problem_line(problem))
    if len(report.problems) > PROBLEMS_LISTED:
        lines.append(f"• and {len(report.problems) - PROBLEMS_LISTED} more.")
    gaps = sorted(report.addons, key=lambda a: (-a.longest_gap, a.addon))
    lines.append(
        "Longest without a good backup: "
        + ", ".join(f"{a.addon} {humanize.duration(a.longest_gap.total_seconds())}" for a in gaps)
        + "."
    )
    change = report.stored_bytes_end - report.stored_bytes_start
    sign = "+" if change >= 0 else "-"
    lines.append(
        f"Stored: {humanize.size(report.stored_bytes_end)} "
        f"({sign}{humanize.size(abs(change))} over the period)."
    )
    if (slowest := report.slowest) is not None:
        lines.append(
            f"Slowest: {slowest.addon}, "
            f"{humanize.duration(slowest.median_duration_seconds)} a backup (median)."
        )
    if report.next_expiries:
        lines.append(
            "Next expiries: "
            + ", ".join(
                f"{e.backup_name} ({e.addon}) {humanize.utc(e.expires_at)}"
                for e in report.next_expiries
            )
            + "."
        )
    return lines


def _problem_line(problem: Problem) -> str:
    when = humanize.utc(problem.at)
    if problem.kind is ProblemKind.MISSED:
        return f"missed: {problem.addon}, the run due {when}"
    text = f"{problem.kind.value}: {problem.addon}, {problem.backup_name} ({when})"
    return f"{text}: {problem.detail}" if problem.detail else text
