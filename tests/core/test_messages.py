"""Notes wait in the outbox as JSON and come back as they were queued. Pure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.alerts import Alert
from bot.core.audit import AuditAction
from bot.core.backups import Backup, BackupStatus, Ref, Schedule, ScheduleInterval
from bot.core.failures import Failure, FailureKind
from bot.core.messages import (
    AlertContext,
    AlertDigest,
    PreparedMessage,
    ReminderNote,
    WriteResultNote,
    note_from_json,
    note_to_json,
)
from bot.core.watches import Event, WatchSettings

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ADDON = Ref("addon-1", "orders <db> & co")
PROJECT = Ref("project-1", "shop")


def failed_alert() -> Alert:
    backup = Backup(
        id="b-1",
        name="nightly-1",
        status=BackupStatus.FAILED,
        status_text="failed",
        created_at=NOW - timedelta(hours=2),
        completed_at=NOW - timedelta(hours=1),
        size_bytes=1234,
        project=PROJECT,
        addon=ADDON,
        addon_type="postgresql",
        addon_version="16.2",
        schedules=(Schedule(ScheduleInterval.DAILY, (0,), (2,)),),
    )
    return Alert(Event.FAILED, "b-1", "dest-1", NOW, backup=backup, addon=ADDON, project=PROJECT)


def missed_alert() -> Alert:
    return Alert(
        Event.MISSED,
        "missed:addon-1:2026-11-28T02:00:00+00:00",
        "dest-1",
        NOW,
        addon=ADDON,
        project=PROJECT,
        expected_at=NOW - timedelta(hours=10),
        schedule=Schedule(ScheduleInterval.DAILY, (0,), (2,)),
    )


def round_trip(note: ReminderNote | WriteResultNote) -> object:
    # Through text, as the outbox's JSON column stores it.
    return note_from_json(json.loads(json.dumps(note_to_json(note))))


def test_a_reminder_comes_back_as_it_was_queued() -> None:
    note = ReminderNote(
        (failed_alert(), missed_alert()),
        open_for=timedelta(days=1, minutes=3),
        remind_every=timedelta(hours=12),
        context=AlertContext("dest-1", "Nightly <S3>", None),
    )
    assert round_trip(note) == note


@pytest.mark.parametrize(
    "failure",
    [
        None,
        Failure(FailureKind.PERMISSION, "forbidden", 403),
        Failure(FailureKind.RATE_LIMITED, "slow down", 429, retry_after=321.5),
        Failure(FailureKind.INTERNAL, reference="abc123ef"),
    ],
)
def test_a_write_result_comes_back_with_its_failure(failure: Failure | None) -> None:
    note = WriteResultNote(
        AuditAction.START_BACKUP,
        "U0ADMIN",
        failed_alert(),
        failure=failure,
        started=None if failure else "manual-1 (b-77)",
    )
    back = round_trip(note)
    assert back == note
    assert isinstance(back, WriteResultNote) and back.ok is (failure is None)


def test_a_note_an_earlier_version_rendered_is_kept_as_it_is() -> None:
    # Before notes were data, the outbox held the Slack message itself.
    legacy = {"text": "Still open after 1d", "blocks": [{"type": "section"}]}
    assert note_from_json(legacy) == PreparedMessage(legacy)


def test_only_writes_have_result_notes_and_messages_are_never_empty() -> None:
    with pytest.raises(ValueError, match="not a write"):
        WriteResultNote(AuditAction.ACKNOWLEDGE, "U0ADMIN", failed_alert())
    with pytest.raises(ValueError, match="at least one alert"):
        ReminderNote((), timedelta(days=1), timedelta(days=1), AlertContext("d", "d", None))
    with pytest.raises(ValueError, match="at least one alert"):
        AlertDigest((), AlertContext("d", "d", WatchSettings()))
