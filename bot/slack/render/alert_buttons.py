"""The buttons under each alert, and reading their values back. Pure.

A button carries only the ledger id of its alert, as a decimal string (a
snooze option: `{id}:{choice}`). A button press is untrusted input, anyone in
the channel can send any value, so a listener parses it with
`parse_alert_id` / `parse_snooze_value` and then looks the alert up again:
the project, addon and backup to act on come from the ledger, never from the
press.

`buttons_for` decides which buttons an alert shows. The write buttons
(Retain, Start backup, Abort) change things on Northflank, so they appear
only when the channel's context allows them (`AlertContext.write_buttons`,
false while BOT_ADMINS is empty) and each asks for confirmation in a Slack
dialog. Hiding a button is a courtesy, not a permission check: the listener
still checks that whoever pressed it is one of the bot's admins.

Sizes: every label is a fixed text within Slack's limits (button text 75,
confirm title 100, confirm and deny 30); a confirm text (300 characters at
most) names its backup and addon within fixed budgets counted *after*
escaping (mrkdwn.clip).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.core.audit import AuditAction
from bot.core.backups import Ref
from bot.core.messages import AlertContext, AlertView
from bot.core.watches import Event
from bot.core.write_actions import write_target
from bot.slack.render.kit import Block
from bot.slack.render.mrkdwn import clip
from bot.slack.render.words import addon_of, project_of

ACKNOWLEDGE_ACTION = "alert_acknowledge"
SNOOZE_ACTION = "alert_snooze"
SHOW_BACKUPS_ACTION = "alert_show_backups"
RETAIN_ACTION = "alert_retain"
START_BACKUP_ACTION = "alert_start_backup"
ABORT_ACTION = "alert_abort"
# The same Acknowledge and Snooze, pressed on the Home tab.
HOME_ACKNOWLEDGE_ACTION = "home_alert_acknowledge"
HOME_SNOOZE_ACTION = "home_alert_snooze"
ALERT_ACTIONS = frozenset(
    {
        ACKNOWLEDGE_ACTION,
        SNOOZE_ACTION,
        SHOW_BACKUPS_ACTION,
        RETAIN_ACTION,
        START_BACKUP_ACTION,
        ABORT_ACTION,
    }
)
# The write buttons, and what the audit trail calls each.
WRITE_ACTION_AUDIT: dict[str, AuditAction] = {
    RETAIN_ACTION: AuditAction.RETAIN,
    START_BACKUP_ACTION: AuditAction.START_BACKUP,
    ABORT_ACTION: AuditAction.ABORT,
}

# The snooze menu, in the order it lists them: value suffix -> length, and label.
SNOOZE_CHOICES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
SNOOZE_LABELS: dict[str, str] = {"1h": "1 hour", "24h": "24 hours", "7d": "7 days"}

# The alerts someone can act on. Recoveries are thread replies, not alerts to
# acknowledge; they never carry these buttons.
ACTIONABLE_EVENTS = frozenset(
    {
        Event.FAILED,
        Event.ABORTED,
        Event.STUCK,
        Event.MISSED,
        Event.ANOMALY,
        Event.EXPIRING,
        Event.NORTHFLANK_PROBLEM,
    }
)

# Ledger ids are database integers; 18 digits stay below 2**63 whatever the database.
_ALERT_ID = re.compile(r"[1-9][0-9]{0,17}")
# Budgets, after escaping, for the names in a confirm text (Slack allows 300 characters).
_CONFIRM_BACKUP = 60
_CONFIRM_ADDON = 40
_CONFIRM_PROJECT = 40


@dataclass(frozen=True, slots=True)
class AlertButtons:
    """Which buttons one alert shows; the listener is what decides whether a press may act."""

    alert_id: int
    acknowledge: bool
    snooze: bool
    show_backups: bool
    retain: bool
    start_backup: bool
    abort: bool

    @property
    def any_shown(self) -> bool:
        return (
            self.acknowledge
            or self.snooze
            or self.show_backups
            or self.retain
            or self.start_backup
            or self.abort
        )


def buttons_for(view: AlertView, context: AlertContext) -> AlertButtons:
    """The buttons an alert shows now. Its `alert_id` must be set (it is what they carry).

    - Acknowledge: an open, not yet acknowledged alert someone can act on.
    - Snooze: an open alert someone can act on (even a snoozed one: a longer
      snooze replaces a shorter one).
    - Show backups: always; for a Northflank problem it lists the whole destination.
    - Retain / Start backup / Abort: open alerts where the write makes sense
      and the ledger knows what to write to, and only with `context.write_buttons`.
    """
    if view.alert_id is None:
        raise ValueError("an alert without a ledger id has no buttons")
    alert = view.alert
    open_alert = view.resolved_at is None and alert.event in ACTIONABLE_EVENTS
    writable = open_alert and context.write_buttons

    def offers(action: AuditAction) -> bool:
        return writable and write_target(action, alert) is not None

    return AlertButtons(
        alert_id=view.alert_id,
        acknowledge=open_alert and not view.acknowledged,
        snooze=open_alert,
        show_backups=True,
        retain=offers(AuditAction.RETAIN),
        start_backup=offers(AuditAction.START_BACKUP),
        abort=offers(AuditAction.ABORT),
    )


def actions_block(buttons: AlertButtons, view: AlertView) -> Block | None:
    """The actions block under an alert's section; None when it shows no button."""
    if not buttons.any_shown:
        return None
    value = str(buttons.alert_id)
    elements: list[dict[str, Any]] = []
    if buttons.acknowledge:
        elements.append(_button(ACKNOWLEDGE_ACTION, "Acknowledge", value, style="primary"))
    if buttons.snooze:
        elements.append(_snooze_menu(buttons.alert_id))
    if buttons.show_backups:
        elements.append(_button(SHOW_BACKUPS_ACTION, "Show backups", value))
    if buttons.retain:
        elements.append(_button(RETAIN_ACTION, "Retain", value, confirm=_retain_confirm(view)))
    if buttons.start_backup:
        elements.append(
            _button(START_BACKUP_ACTION, "Start backup", value, confirm=_start_confirm(view))
        )
    if buttons.abort:
        elements.append(
            _button(ABORT_ACTION, "Abort", value, style="danger", confirm=_abort_confirm(view))
        )
    block_id = f"alert_actions:{buttons.alert_id}"
    return {"type": "actions", "block_id": block_id, "elements": elements}


def home_actions_block(alert_id: int, *, acknowledged: bool) -> Block:
    """Acknowledge and Snooze for an open alert listed on the Home tab: the same actions,
    under their own ids, so that the press is answered by publishing the tab again."""
    elements: list[dict[str, Any]] = []
    if not acknowledged:
        elements.append(
            _button(HOME_ACKNOWLEDGE_ACTION, "Acknowledge", str(alert_id), style="primary")
        )
    elements.append(_snooze_menu(alert_id, HOME_SNOOZE_ACTION))
    return {"type": "actions", "block_id": f"home_alert:{alert_id}", "elements": elements}


# ----- reading values back ------------------------------------------------------------------


def parse_alert_id(value: object) -> int | None:
    """The alert id a button carries, or None for anything but a plain positive decimal.

    No sign, no spaces, no leading zero, no exponent, at most 18 digits: the
    only form `actions_block` writes.
    """
    if not isinstance(value, str) or not _ALERT_ID.fullmatch(value):
        return None
    return int(value)


def parse_snooze_value(value: object) -> tuple[int, timedelta] | None:
    """(alert id, snooze length) from a snooze option's `{id}:{choice}`, or None."""
    if not isinstance(value, str):
        return None
    alert_text, separator, choice = value.partition(":")
    alert_id = parse_alert_id(alert_text)
    if not separator or alert_id is None or choice not in SNOOZE_CHOICES:
        return None
    return alert_id, SNOOZE_CHOICES[choice]


# ----- pieces ------------------------------------------------------------------------------


def _button(
    action_id: str,
    label: str,
    value: str,
    *,
    style: str | None = None,
    confirm: dict[str, Any] | None = None,
) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    if style is not None:
        button["style"] = style
    if confirm is not None:
        button["confirm"] = confirm
    return button


def _snooze_menu(alert_id: int, action_id: str = SNOOZE_ACTION) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": "Snooze…"},
        "options": [
            {
                "text": {"type": "plain_text", "text": SNOOZE_LABELS[choice]},
                "value": f"{alert_id}:{choice}",
            }
            for choice in SNOOZE_CHOICES
        ],
    }


def _confirm(title: str, text: str, confirm: str, *, style: str | None = None) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "title": {"type": "plain_text", "text": title},
        "text": {"type": "mrkdwn", "text": text},
        "confirm": {"type": "plain_text", "text": confirm},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    if style is not None:
        dialog["style"] = style
    return dialog


def _retain_confirm(view: AlertView) -> dict[str, Any]:
    return _confirm(
        "Retain this backup?",
        f"Ask Northflank to keep backup {_backup_words(view)} indefinitely, "
        "instead of deleting it when it expires?",
        "Retain",
    )


def _start_confirm(view: AlertView) -> dict[str, Any]:
    addon = addon_of(view.alert)
    project = project_of(view.alert)
    where = f" in project *{clip(project.name, _CONFIRM_PROJECT)}*" if project else ""
    return _confirm(
        "Start a backup now?",
        f"Ask Northflank to start a new backup of addon {_addon_words(addon)}{where} now?",
        "Start backup",
        style="primary",
    )


def _abort_confirm(view: AlertView) -> dict[str, Any]:
    return _confirm(
        "Abort this backup?",
        f"Ask Northflank to abort backup {_backup_words(view)}? "
        "An aborted backup can't be resumed.",
        "Abort",
        style="danger",
    )


def _backup_words(view: AlertView) -> str:
    """ "*nightly-orders* of addon *orders-db*" """
    backup = view.alert.backup
    name = f"*{clip(backup.name, _CONFIRM_BACKUP)}*" if backup else "this backup"
    return f"{name} of addon {_addon_words(addon_of(view.alert))}"


def _addon_words(addon: Ref | None) -> str:
    return f"*{clip(addon.name, _CONFIRM_ADDON)}*" if addon else "this addon"
