"""Who pressed a button, and in which channel, read from an interaction's payload."""

from __future__ import annotations

from typing import Any

from bot.core.audit import Requester
from bot.slack.workspaces import Workspaces


def requester_of(body: dict[str, Any], workspaces: Workspaces) -> Requester | None:
    """Who pressed it, and the channel key of where; None if the payload does not say."""
    user = body.get("user")
    channel = body.get("channel")
    container = body.get("container")
    user_id = user.get("id") if isinstance(user, dict) else None
    channel_id = channel.get("id") if isinstance(channel, dict) else None
    if channel_id is None and isinstance(container, dict):
        channel_id = container.get("channel_id")
    if not isinstance(user_id, str) or not isinstance(channel_id, str):
        return None
    return workspaces.requester(body, user_id, channel_id)
