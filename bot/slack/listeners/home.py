"""The App Home tab: published when opened, and its buttons.

Opening the tab publishes the overview (bot/services/home.py) for that
person; it reads the store only. Acknowledge and Snooze on the tab are the
same actions as in the alert's channel (AlertActions, the same rules and the
same audit), pressed on behalf of that channel; the tab is then published
again so that it shows what changed. "Report to me" posts a destination's
report to the person, in a direct message.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.audit import Requester
from bot.core.tenancy import channel_key, team_of
from bot.services.alert_actions import AlertActions
from bot.services.home import HomeService
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.listeners.acking import queue_reply_then_ack
from bot.slack.render.alert_buttons import (
    HOME_ACKNOWLEDGE_ACTION,
    HOME_SNOOZE_ACTION,
    parse_alert_id,
    parse_snooze_value,
)
from bot.slack.render.home import HOME_REPORT_ACTION, HOME_REPORT_DAYS, home_view
from bot.slack.workspaces import Workspaces

log = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    home: HomeService,
    alert_actions: AlertActions,
    answers: Answers,
    after_ack: AfterAck,
    workspaces: Workspaces,
) -> None:
    async def publish(client: AsyncWebClient, user_id: str, team: str) -> None:
        try:
            overview = await home.overview(team)
            await client.views_publish(user_id=user_id, view=home_view(overview))
        except SlackApiError as exc:
            log.warning("the Home tab could not be published: %s", exc.response.get("error"))

    async def home_opened(
        event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id = event.get("user")
        if event.get("tab") != "home" or not isinstance(user_id, str):
            return  # the Messages tab, or an event without a user
        await publish(client, user_id, workspaces.team(body))

    async def home_alert_button(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id = _user_of(body)
        if user_id is None:
            await ack()
            return
        team = workspaces.team(body)

        async def press() -> None:
            await _press(alert_actions, action, user_id, team)
            await publish(client, user_id, team)

        await queue_reply_then_ack(ack, after_ack, press)

    async def home_report(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user_id = _user_of(body)
        destination_id = action.get("value")
        if user_id is None or not isinstance(destination_id, str):
            await ack()
            return
        team = workspaces.team(body)

        async def send_report() -> None:
            report = await home.report_of_watched(destination_id, HOME_REPORT_DAYS, team=team)
            if report is None:
                # Not watched in this workspace (any more): show the tab as it is.
                await publish(client, user_id, team)
                return
            opened = await client.conversations_open(users=user_id)
            channel = opened.get("channel") or {}
            dm = channel.get("id") if isinstance(channel, dict) else None
            if isinstance(dm, str):
                await answers.post_report(channel_key(team, dm), report, user_id)

        await queue_reply_then_ack(ack, after_ack, send_report)

    app.event("app_home_opened")(home_opened)
    app.action(HOME_ACKNOWLEDGE_ACTION)(home_alert_button)
    app.action(HOME_SNOOZE_ACTION)(home_alert_button)
    app.action(HOME_REPORT_ACTION)(home_report)


async def _press(
    alert_actions: AlertActions, action: dict[str, Any], user_id: str, team: str
) -> None:
    """Acknowledge or Snooze, as if pressed in the alert's own channel of this workspace."""
    if action.get("action_id") == HOME_SNOOZE_ACTION:
        selected = action.get("selected_option")
        parsed = parse_snooze_value(selected.get("value") if isinstance(selected, dict) else None)
        if parsed is None:
            return
        alert_id, duration = parsed
    else:
        found = parse_alert_id(action.get("value"))
        if found is None:
            return
        alert_id, duration = found, None
    channel = await alert_actions.channel_of(alert_id)
    if channel is None or team_of(channel) != team:
        # Purged, or another workspace's alert (a copied button): the republished tab
        # shows this workspace's alerts only, and nothing was done.
        return
    who = Requester(user_id=user_id, channel_id=channel)
    if duration is None:
        await alert_actions.acknowledge(alert_id, who)
    else:
        await alert_actions.snooze(alert_id, duration, who)


def _user_of(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    return user_id if isinstance(user_id, str) else None
