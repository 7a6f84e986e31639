"""The audit trail: kept per channel, newest first, written with the change it describes."""

from __future__ import annotations

from datetime import timedelta

from bot.core.audit import AUDIT_SHOWN, AuditAction, AuditOutcome
from bot.core.watches import WatchSettings
from bot.store import Store
from tests.store.examples import HOUR, PRIMARY, SECONDARY, T0, audit_entry, watching

MINUTE = HOUR / 60


async def test_an_entry_reads_back_as_written(store: Store) -> None:
    entry = audit_entry(
        AuditAction.START_BACKUP,
        user="U-carol",
        target="Primary / addon-db",
        outcome=AuditOutcome.REFUSED,
        detail="not in BOT_ADMINS",
    )
    await store.record_audit(entry)
    assert await store.audit_entries("C-ops") == [entry]


async def test_entries_come_newest_first_and_twenty_at_a_time(store: Store) -> None:
    written = [
        audit_entry(AuditAction.MUTE, target=f"destination {i}", at=T0 + i * MINUTE)
        for i in range(AUDIT_SHOWN + 5)
    ]
    for entry in written:
        await store.record_audit(entry)

    newest_first = written[::-1]
    assert AUDIT_SHOWN == 20
    assert await store.audit_entries("C-ops") == newest_first[:AUDIT_SHOWN]
    assert await store.audit_entries("C-ops", limit=3) == newest_first[:3]


async def test_newest_means_written_last_not_the_latest_time(store: Store) -> None:
    # Two replicas' clocks may disagree a little; the order they wrote in stands.
    late_clock = audit_entry(AuditAction.MUTE, at=T0 + MINUTE)
    early_clock = audit_entry(AuditAction.UNMUTE, at=T0)
    await store.record_audit(late_clock)
    await store.record_audit(early_clock)
    assert await store.audit_entries("C-ops") == [early_clock, late_clock]


async def test_each_channel_sees_only_its_own_entries(store: Store) -> None:
    ops = audit_entry(AuditAction.WATCH, channel="C-ops")
    dba = audit_entry(AuditAction.WATCH, channel="C-dba")
    await store.record_audit(ops)
    await store.record_audit(dba)
    assert await store.audit_entries("C-ops") == [ops]
    assert await store.audit_entries("C-dba") == [dba]
    assert await store.audit_entries("C-other") == []


async def test_outside_text_is_kept_to_500_characters(store: Store) -> None:
    await store.record_audit(audit_entry(AuditAction.RETAIN, target="t" * 600, detail="d" * 600))
    await store.record_audit(audit_entry(AuditAction.RETAIN, target="t" * 500, detail=None))
    kept_whole, clipped = await store.audit_entries("C-ops")
    assert (clipped.target, clipped.detail) == ("t" * 500, "d" * 500)
    assert (kept_whole.target, kept_whole.detail) == ("t" * 500, None)


# ----- written with the change ----------------------------------------------------------


async def test_saving_a_watch_writes_its_entry(store: Store) -> None:
    entry = audit_entry(AuditAction.WATCH, detail="events=failed,stuck remind=4h")
    settings = WatchSettings(remind=4 * HOUR)
    await store.save_watch("C-ops", PRIMARY, settings, "U-bob", T0, audit=entry)
    assert await store.audit_entries("C-ops") == [entry]
    # Without one (the CLI, a test's set-up), nothing is written.
    await store.save_watch("C-ops", SECONDARY, settings, "U-bob", T0)
    assert await store.audit_entries("C-ops") == [entry]


async def test_removing_a_watch_writes_its_entry(store: Store) -> None:
    await watching(store)
    entry = audit_entry(AuditAction.UNWATCH, at=T0 + HOUR)
    removed = await store.remove_watch("C-ops", PRIMARY.id, audit=entry)
    assert removed is not None and removed.destination_id == PRIMARY.id
    assert await store.audit_entries("C-ops") == [entry]


async def test_removing_a_watch_that_is_not_there_writes_nothing(store: Store) -> None:
    entry = audit_entry(AuditAction.UNWATCH)
    assert await store.remove_watch("C-ops", PRIMARY.id, audit=entry) is None
    assert await store.audit_entries("C-ops") == []


async def test_muting_and_unmuting_write_their_entries(store: Store) -> None:
    await watching(store)
    until = T0 + timedelta(hours=8)
    mute = audit_entry(AuditAction.MUTE, detail=until.isoformat())
    unmute = audit_entry(AuditAction.UNMUTE, at=T0 + HOUR)

    muted = await store.set_muted_until("C-ops", PRIMARY.id, until, audit=mute)
    assert muted is not None and muted.muted_until == until
    unmuted = await store.set_muted_until("C-ops", PRIMARY.id, None, audit=unmute)
    assert unmuted is not None and unmuted.muted_until is None

    assert await store.audit_entries("C-ops") == [unmute, mute]


async def test_muting_a_watch_that_is_not_there_writes_nothing(store: Store) -> None:
    entry = audit_entry(AuditAction.MUTE)
    assert await store.set_muted_until("C-ops", PRIMARY.id, T0 + HOUR, audit=entry) is None
    assert await store.audit_entries("C-ops") == []
