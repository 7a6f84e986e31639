"""What one channel hears after a poll (`decide_channel_alerts`): pure, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from bot.core.alerts import EMPTY_LEDGER
from bot.core.backups import BackupStatus
from bot.core.handling import Snooze
from bot.core.watches import Event, PollStatus
from bot.services.alert_decisions import decide_channel_alerts
from tests.core.test_rules import ADDON, DESTINATION, NOW, at, backup, destination, known, watch

FAILED = backup("b-failed", BackupStatus.FAILED, created_at=at(11), completed_at=at(11, 5))
HEALTHY = PollStatus(DESTINATION, last_poll_at=NOW, last_success_at=NOW)


def _snooze(until_hours: int) -> Snooze:
    return Snooze(
        channel="C123",
        destination_id=DESTINATION,
        addon_id=ADDON.id,
        event=Event.FAILED,
        until=NOW + timedelta(hours=until_hours),
        created_by="U1",
        created_at=NOW,
    )


def test_a_failed_backup_is_a_digest_to_deliver() -> None:
    state = destination([known(FAILED, at(11, 5))])
    alerts, batch = decide_channel_alerts(
        watch(), state, EMPTY_LEDGER, HEALTHY, problem=None, snoozes=[], now=NOW
    )
    assert [(a.event, a.subject) for a in alerts] == [(Event.FAILED, "b-failed")]
    assert batch is not None and batch.deliver and batch.silenced == []
    assert [[a.subject for a in group] for group in batch.digests] == [["b-failed"]]


def test_a_snoozed_alert_is_recorded_silenced_and_a_muted_channel_is_not_delivered() -> None:
    state = destination([known(FAILED, at(11, 5))])
    _, snoozed = decide_channel_alerts(
        watch(), state, EMPTY_LEDGER, HEALTHY, problem=None, snoozes=[_snooze(2)], now=NOW
    )
    assert snoozed is not None
    assert [a.subject for a in snoozed.silenced] == ["b-failed"] and snoozed.digests == []
    muted = replace(watch(), muted_until=NOW + timedelta(hours=1))
    _, held = decide_channel_alerts(
        muted, state, EMPTY_LEDGER, HEALTHY, problem=None, snoozes=[], now=NOW
    )
    assert held is not None and not held.deliver


def test_nothing_to_say_records_nothing_and_a_failed_poll_judges_only_northflank() -> None:
    alerts, batch = decide_channel_alerts(
        watch(), destination(), EMPTY_LEDGER, HEALTHY, problem=None, snoozes=[], now=NOW
    )
    assert (alerts, batch) == ([], None)
    failing = PollStatus(
        DESTINATION,
        last_poll_at=NOW,
        last_success_at=NOW - timedelta(hours=2),
        consecutive_failures=5,
        failing_since=NOW - timedelta(hours=2),
        last_error="503",
    )
    alerts, batch = decide_channel_alerts(
        watch(), None, EMPTY_LEDGER, failing, problem="Northflank answered 503", snoozes=[], now=NOW
    )
    assert [a.event for a in alerts] == [Event.NORTHFLANK_PROBLEM] and batch is not None
