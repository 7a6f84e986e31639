"""Slack listeners: each module registers its handlers on the app.

A handler queues its reply (parse, delegate to `Answers` or a service,
render, post), then acks. It holds no logic of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt.async_app import AsyncApp

from bot.services.alert_actions import AlertActions
from bot.services.connecting import ConnectionAdmin
from bot.services.home import HomeService
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.listeners import actions, alert_buttons, commands, connections, home
from bot.slack.listeners.connections import ConnectForm
from bot.slack.responder import Responder
from bot.slack.workspaces import Workspaces


def register(
    app: AsyncApp,
    answers: Answers,
    responder: Responder,
    after_ack: AfterAck,
    alert_actions: AlertActions | None = None,
    *,
    home_service: HomeService | None = None,
    connection_admin: ConnectionAdmin | None = None,
    workspaces: Workspaces,
    clock: Callable[[], datetime],
) -> None:
    connect_form = ConnectForm(connection_admin) if connection_admin is not None else None
    commands.register(app, answers, responder, after_ack, workspaces, connect_form)
    if connection_admin is not None:
        connections.register(app, connection_admin, answers, responder, after_ack, workspaces)
    actions.register(app, answers, responder, after_ack, workspaces)
    if alert_actions is not None:
        alert_buttons.register(
            app, alert_actions, responder, after_ack, workspaces=workspaces, clock=clock
        )
        if home_service is not None:
            home.register(app, home_service, alert_actions, answers, after_ack, workspaces)
    # Last: it takes every button press no listener above took.
    actions.register_catch_all(app, responder, after_ack)
