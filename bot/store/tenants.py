"""The one scope every workspace-wide query applies (bot/core/tenancy.py).

Queries by channel are scoped already: a channel key carries its workspace.
The few that read across channels (the Home tab, a report by destination
name, the connections list) take the workspace as a required argument and
filter with `in_workspace`, so a forgotten scope is a TypeError, not a leak.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import InstrumentedAttribute

from bot.core.tenancy import team_prefix


def in_workspace(channel: InstrumentedAttribute[str], team: str) -> ColumnElement[bool]:
    """Rows whose channel key belongs to `team` (every row, for a single workspace)."""
    prefix = team_prefix(team)
    return channel.startswith(prefix, autoescape=True) if prefix else true()
