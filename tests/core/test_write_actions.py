"""Which write an alert allows and what it addresses: one answer for buttons and presses."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.audit import AuditAction
from bot.core.backups import Ref
from bot.core.watches import Event
from bot.core.write_actions import WriteTarget, write_target
from tests.store.examples import alert, backup

EXPIRING = dataclasses.replace(
    alert(Event.EXPIRING, "b1"), backup=backup("b1", project="p1", addon="a1")
)


@pytest.mark.parametrize(
    ("action", "event", "applies"),
    [
        (AuditAction.RETAIN, Event.EXPIRING, True),
        (AuditAction.RETAIN, Event.FAILED, False),
        (AuditAction.ABORT, Event.STUCK, True),
        (AuditAction.ABORT, Event.EXPIRING, False),
        (AuditAction.START_BACKUP, Event.FAILED, True),
        (AuditAction.START_BACKUP, Event.MISSED, True),
        (AuditAction.START_BACKUP, Event.STUCK, False),
        (AuditAction.ACKNOWLEDGE, Event.FAILED, False),  # not a write
    ],
)
def test_each_write_belongs_to_its_events(action: AuditAction, event: Event, applies: bool) -> None:
    raised = dataclasses.replace(EXPIRING, event=event)
    assert (write_target(action, raised) is not None) is applies


def test_retain_and_abort_address_the_backup_under_its_own_project_and_addon() -> None:
    # The alert's own refs differ: the API path is the backup's.
    raised = dataclasses.replace(EXPIRING, addon=Ref("other", "x"), project=Ref("elsewhere", "y"))
    assert write_target(AuditAction.RETAIN, raised) == WriteTarget("p1", "a1", "b1")
    assert EXPIRING.backup is not None
    orphan = dataclasses.replace(raised, backup=dataclasses.replace(EXPIRING.backup, addon=None))
    assert write_target(AuditAction.RETAIN, orphan) is None
    assert write_target(AuditAction.RETAIN, dataclasses.replace(raised, backup=None)) is None


def test_start_backup_addresses_the_addon_from_the_alert_or_its_backup() -> None:
    failed = dataclasses.replace(EXPIRING, event=Event.FAILED)
    assert write_target(AuditAction.START_BACKUP, failed) == WriteTarget(
        "project-shop", "addon-db", None
    )
    from_backup = dataclasses.replace(failed, addon=None, project=None)
    assert write_target(AuditAction.START_BACKUP, from_backup) == WriteTarget("p1", "a1", None)
    nowhere = dataclasses.replace(from_backup, backup=None)
    assert write_target(AuditAction.START_BACKUP, nowhere) is None
