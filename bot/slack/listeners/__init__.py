"""Slack listeners: each module registers its handlers on the app.

A handler acks, parses, then delegates to `Answers`; it holds no logic.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.answers import Answers
from bot.slack.listeners import actions, commands


def register(app: AsyncApp, answers: Answers) -> None:
    commands.register(app, answers)
    actions.register(app, answers)
