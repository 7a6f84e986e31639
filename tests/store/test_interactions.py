"""Buttons on alerts: acknowledge, snooze and write actions change things once, on both databases.

A double click, or one click handled by two replicas, must record one
acknowledgement, one snooze, one Northflank write: the race tests open one
Store per replica on the same database, as separate processes would.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from bot.core.alerts import Alert
from bot.core.audit import AuditAction, AuditOutcome
from bot.core.backups import Ref
from bot.core.watches import Event
from bot.store import (
    Acknowledgement,
    OutboxItem,
    OutboxKind,
    OutboxState,
    Snooze,
    SnoozeResult,
    Store,
    StoredAlert,
    WriteClaim,
    WriteState,
)
from tests.store.examples import (
    HOUR,
    PRIMARY,
    SECONDARY,
    T0,
    alert,
    audit_entry,
    posted,
    replica_stores,
    watching,
)

MINUTE = HOUR / 60
STALE = 2 * MINUTE
RACERS = 4


async def _posted_failure(store: Store, channel: str = "C-ops", subject: str = "b1") -> StoredAlert:
    watch = await watching(store, channel)
    (stored,) = await posted(store, watch, alert(Event.FAILED, subject))
    return stored


async def _pending(store: Store) -> list[OutboxItem]:
    """What the buttons queued: the posts `posted` made are delivered already."""
    return await store.outbox_items(states=[OutboxState.PENDING])


# ----- acknowledge ----------------------------------------------------------------------


async def test_the_first_acknowledgement_is_recorded_re_rendered_and_audited(
    store: Store,
) -> None:
    stored = await _posted_failure(store)
    entry = audit_entry(AuditAction.ACKNOWLEDGE, target="b1", at=T0 + HOUR)

    ack = await store.acknowledge(stored.id, user_id="U-bob", now=T0 + HOUR, audit=entry)

    assert ack == Acknowledgement(new=True, by="U-bob", at=T0 + HOUR)
    (after,) = await store.alerts([stored.id])
    assert (after.acknowledged_by, after.acknowledged_at) == ("U-bob", T0 + HOUR)
    (update,) = await _pending(store)
    assert (update.channel, update.kind, update.alert_ids, update.next_attempt_at) == (
        "C-ops",
        OutboxKind.UPDATE,
        (stored.id,),
        T0 + HOUR,
    )
    assert await store.audit_entries("C-ops") == [entry]


async def test_a_second_acknowledgement_names_the_first_and_writes_nothing(store: Store) -> None:
    stored = await _posted_failure(store)
    first = audit_entry(AuditAction.ACKNOWLEDGE, user="U-bob", at=T0 + HOUR)
    await store.acknowledge(stored.id, user_id="U-bob", now=T0 + HOUR, audit=first)
    queued = await _pending(store)

    again = await store.acknowledge(
        stored.id,
        user_id="U-carol",
        now=T0 + 2 * HOUR,
        audit=audit_entry(AuditAction.ACKNOWLEDGE, user="U-carol", at=T0 + 2 * HOUR),
    )

    assert again == Acknowledgement(new=False, by="U-bob", at=T0 + HOUR)
    assert await _pending(store) == queued
    assert await store.audit_entries("C-ops") == [first]
    (after,) = await store.alerts([stored.id])
    assert (after.acknowledged_by, after.acknowledged_at) == ("U-bob", T0 + HOUR)


async def test_acknowledging_an_unknown_alert_answers_none_and_writes_nothing(
    store: Store,
) -> None:
    stored = await _posted_failure(store)
    entry = audit_entry(AuditAction.ACKNOWLEDGE)
    assert await store.acknowledge(stored.id + 1, user_id="U-bob", now=T0, audit=entry) is None
    assert await _pending(store) == []
    assert await store.audit_entries("C-ops") == []


async def test_an_acknowledgement_whose_audit_fails_is_not_recorded_either(store: Store) -> None:
    stored = await _posted_failure(store)
    # A naive time is refused when written: the acknowledgement must go with it.
    broken = audit_entry(AuditAction.ACKNOWLEDGE, at=datetime(2025, 3, 1, 13))
    with pytest.raises(StatementError):
        await store.acknowledge(stored.id, user_id="U-bob", now=T0 + HOUR, audit=broken)
    (after,) = await store.alerts([stored.id])
    assert (after.acknowledged_by, after.acknowledged_at) == (None, None)
    assert await _pending(store) == []
    assert await store.audit_entries("C-ops") == []


async def test_replicas_acknowledging_at_once_record_one_acknowledgement(
    database_url: str, store: Store
) -> None:
    stored = await _posted_failure(store)

    async def press(its_store: Store, user: str) -> Acknowledgement | None:
        entry = audit_entry(AuditAction.ACKNOWLEDGE, user=user, at=T0 + HOUR)
        return await its_store.acknowledge(stored.id, user_id=user, now=T0 + HOUR, audit=entry)

    async with replica_stores(database_url, RACERS) as stores:
        acks = await asyncio.gather(*(press(s, f"U-{i}") for i, s in enumerate(stores)))

    assert all(ack is not None for ack in acks)
    winners = [ack for ack in acks if ack is not None and ack.new]
    assert len(winners) == 1
    # Everyone is told the same person, the one who got there first.
    assert {(ack.by, ack.at) for ack in acks if ack is not None} == {(winners[0].by, T0 + HOUR)}
    (after,) = await store.alerts([stored.id])
    assert after.acknowledged_by == winners[0].by
    assert [entry.user_id for entry in await store.audit_entries("C-ops")] == [winners[0].by]
    assert [(i.kind, i.alert_ids) for i in await _pending(store)] == [
        (OutboxKind.UPDATE, (stored.id,))
    ]


# ----- snooze ---------------------------------------------------------------------------


def _snooze(
    until: datetime,
    *,
    by: str = "U-bob",
    channel: str = "C-ops",
    destination_id: str = PRIMARY.id,
    addon_id: str = "addon-db",
    event: Event = Event.FAILED,
    at: datetime = T0,
) -> Snooze:
    return Snooze(
        channel=channel,
        destination_id=destination_id,
        addon_id=addon_id,
        event=event,
        until=until,
        created_by=by,
        created_at=at,
    )


async def _snoozed(
    store: Store, snooze: Snooze, alert_id: int, *, now: datetime = T0
) -> SnoozeResult:
    entry = audit_entry(
        AuditAction.SNOOZE, user=snooze.created_by, at=now, detail=snooze.until.isoformat()
    )
    return await store.snooze(snooze, alert_id=alert_id, now=now, audit=entry)


async def test_a_new_snooze_is_stored_re_rendered_and_audited(store: Store) -> None:
    stored = await _posted_failure(store)
    snooze = _snooze(T0 + 4 * HOUR)

    result = await _snoozed(store, snooze, stored.id)

    assert result == SnoozeResult(new=True, snooze=snooze)
    assert await store.active_snoozes("C-ops", T0) == [snooze]
    (update,) = await _pending(store)
    assert (update.channel, update.kind, update.alert_ids) == (
        "C-ops",
        OutboxKind.UPDATE,
        (stored.id,),
    )
    (entry,) = await store.audit_entries("C-ops")
    assert (entry.action, entry.user_id, entry.detail) == (
        AuditAction.SNOOZE,
        "U-bob",
        snooze.until.isoformat(),
    )


@pytest.mark.parametrize("later_by", [timedelta(0), MINUTE / 2, MINUTE])
async def test_the_same_snooze_again_changes_nothing(store: Store, later_by: timedelta) -> None:
    stored = await _posted_failure(store)
    first = _snooze(T0 + 4 * HOUR, by="U-bob")
    await _snoozed(store, first, stored.id)
    queued = await _pending(store)

    # A double click: the second press's end is at most a minute later.
    again = _snooze(T0 + 4 * HOUR + later_by, by="U-carol", at=T0 + MINUTE / 2)
    result = await _snoozed(store, again, stored.id, now=T0 + MINUTE / 2)

    assert result == SnoozeResult(new=False, snooze=first)
    assert await store.active_snoozes("C-ops", T0) == [first]
    assert await _pending(store) == queued
    assert len(await store.audit_entries("C-ops")) == 1


async def test_a_longer_snooze_replaces_a_shorter_one(store: Store) -> None:
    stored = await _posted_failure(store)
    await _snoozed(store, _snooze(T0 + HOUR, by="U-bob"), stored.id)
    longer = _snooze(T0 + 24 * HOUR, by="U-carol", at=T0 + MINUTE)

    result = await _snoozed(store, longer, stored.id, now=T0 + MINUTE)

    assert result == SnoozeResult(new=True, snooze=longer)
    assert await store.active_snoozes("C-ops", T0 + MINUTE) == [longer]
    assert len(await _pending(store)) == 2
    assert [e.user_id for e in await store.audit_entries("C-ops")] == ["U-carol", "U-bob"]


async def test_a_shorter_snooze_leaves_the_longer_one_in_place(store: Store) -> None:
    stored = await _posted_failure(store)
    longer = _snooze(T0 + 24 * HOUR, by="U-bob")
    await _snoozed(store, longer, stored.id)

    result = await _snoozed(store, _snooze(T0 + HOUR, by="U-carol"), stored.id)

    assert result == SnoozeResult(new=False, snooze=longer)
    assert await store.active_snoozes("C-ops", T0) == [longer]
    assert len(await _pending(store)) == 1
    assert len(await store.audit_entries("C-ops")) == 1


async def test_only_unexpired_snoozes_are_active(store: Store) -> None:
    stored = await _posted_failure(store)
    short = _snooze(T0 + HOUR, event=Event.FAILED)
    long = _snooze(T0 + 3 * HOUR, event=Event.STUCK)
    other_destination = _snooze(T0 + 3 * HOUR, destination_id=SECONDARY.id)
    elsewhere = _snooze(T0 + 3 * HOUR, channel="C-dba")
    for snooze in (short, long, other_destination, elsewhere):
        await _snoozed(store, snooze, stored.id)

    assert _sorted(await store.active_snoozes("C-ops", T0)) == _sorted(
        [short, long, other_destination]
    )
    # A snooze ends at its `until`: from then on the event is heard again.
    assert _sorted(await store.active_snoozes("C-ops", T0 + HOUR)) == _sorted(
        [long, other_destination]
    )
    assert await store.active_snoozes("C-ops", T0 + HOUR, destination_id=PRIMARY.id) == [long]
    assert await store.active_snoozes("C-ops", T0 + 3 * HOUR) == []

    assert _sorted(await store.snoozes_in(["C-ops", "C-dba"], T0 + HOUR)) == _sorted(
        [long, other_destination, elsewhere]
    )
    assert await store.snoozes_in(["C-dba"], T0 + HOUR) == [elsewhere]
    assert await store.snoozes_in(["C-other"], T0) == []
    assert await store.snoozes_in([], T0) == []


def _sorted(snoozes: list[Snooze]) -> list[Snooze]:
    return sorted(snoozes, key=lambda s: (s.channel, s.destination_id, s.event, s.until))


async def test_replicas_snoozing_at_once_record_one_snooze(database_url: str, store: Store) -> None:
    stored = await _posted_failure(store)

    async def press(its_store: Store, user: str) -> SnoozeResult:
        return await _snoozed(its_store, _snooze(T0 + HOUR, by=user), stored.id)

    async with replica_stores(database_url, RACERS) as stores:
        results = await asyncio.gather(*(press(s, f"U-{i}") for i, s in enumerate(stores)))

    (winner,) = [r for r in results if r.new]
    assert {r.snooze for r in results} == {winner.snooze}
    assert await store.active_snoozes("C-ops", T0) == [winner.snooze]
    assert [e.user_id for e in await store.audit_entries("C-ops")] == [winner.snooze.created_by]
    assert len(await _pending(store)) == 1


# ----- what a snooze covers (pure) ------------------------------------------------------


def _on_addon(event: Event, addon_id: str | None, destination_id: str = PRIMARY.id) -> Alert:
    base = alert(event, "b1")
    return Alert(
        event=event,
        subject=base.subject,
        destination_id=destination_id,
        occurred_at=base.occurred_at,
        backup=base.backup,
        addon=Ref(addon_id, f"{addon_id} name") if addon_id is not None else None,
        project=base.project,
    )


def test_a_snooze_covers_its_event_on_its_addon_and_destination_until_it_ends() -> None:
    snooze = _snooze(T0 + HOUR, addon_id="addon-db", event=Event.FAILED)
    assert snooze.covers(_on_addon(Event.FAILED, "addon-db"), T0)
    assert not snooze.covers(_on_addon(Event.FAILED, "addon-db"), T0 + HOUR)
    assert not snooze.covers(_on_addon(Event.STUCK, "addon-db"), T0)
    assert not snooze.covers(_on_addon(Event.FAILED, "addon-cache"), T0)
    assert not snooze.covers(_on_addon(Event.FAILED, None), T0)
    assert not snooze.covers(_on_addon(Event.FAILED, "addon-db", SECONDARY.id), T0)


def test_a_snooze_of_the_destination_itself_covers_only_alerts_without_an_addon() -> None:
    snooze = _snooze(T0 + HOUR, addon_id="", event=Event.NORTHFLANK_PROBLEM)
    assert snooze.covers(_on_addon(Event.NORTHFLANK_PROBLEM, None), T0)
    assert not snooze.covers(_on_addon(Event.NORTHFLANK_PROBLEM, "addon-db"), T0)


def test_a_snooze_ignores_the_channel_and_subject() -> None:
    # Which channel's snoozes apply is the caller's choice; within it, every
    # later backup failing on the addon is the same event.
    snooze = _snooze(T0 + HOUR, channel="C-dba")
    assert snooze.covers(alert(Event.FAILED, "b1"), T0)
    assert snooze.covers(alert(Event.FAILED, "b-later"), T0)


# ----- write actions --------------------------------------------------------------------

RETAIN = AuditAction.RETAIN.value


async def _claim(
    store: Store, alert_id: int, user: str, now: datetime, action: str = RETAIN
) -> WriteClaim:
    return await store.claim_write(alert_id, action, user_id=user, now=now, stale_after=STALE)


async def _finish(store: Store, alert_id: int, *, ok: bool, result: str, now: datetime) -> None:
    outcome = AuditOutcome.DONE if ok else AuditOutcome.FAILED
    await store.finish_write(
        alert_id,
        RETAIN,
        ok=ok,
        result=result,
        now=now,
        audit=audit_entry(AuditAction.RETAIN, at=now, outcome=outcome, detail=result),
        thread_note={"text": f"<@U-bob> retained b1: {result}", "blocks": []},
        channel="C-ops",
    )


async def test_the_first_claim_is_ours_and_a_second_sees_it_running(store: Store) -> None:
    stored = await _posted_failure(store)
    assert await _claim(store, stored.id, "U-bob", T0) == WriteClaim(
        ours=True, state=WriteState.RUNNING, user_id="U-bob", started_at=T0
    )
    assert await _claim(store, stored.id, "U-carol", T0 + MINUTE) == WriteClaim(
        ours=False, state=WriteState.RUNNING, user_id="U-bob", started_at=T0
    )
    # Another action on the same alert is a write of its own.
    other = await _claim(store, stored.id, "U-carol", T0, action=AuditAction.ABORT.value)
    assert other.ours


async def test_a_finished_write_is_audited_and_answered_in_the_alerts_thread(
    store: Store,
) -> None:
    stored = await _posted_failure(store)
    await _claim(store, stored.id, "U-bob", T0)

    await _finish(store, stored.id, ok=True, result="kept until 1 April", now=T0 + MINUTE)

    (note,) = await _pending(store)
    assert (note.channel, note.kind, note.alert_ids, note.parent_alert_id) == (
        "C-ops",
        OutboxKind.NOTE,
        (),
        stored.id,
    )
    assert note.payload == {"text": "<@U-bob> retained b1: kept until 1 April", "blocks": []}
    (entry,) = await store.audit_entries("C-ops")
    assert (entry.action, entry.outcome, entry.detail, entry.at) == (
        AuditAction.RETAIN,
        AuditOutcome.DONE,
        "kept until 1 April",
        T0 + MINUTE,
    )
    # Done is done: nobody writes it again, even long after.
    assert await _claim(store, stored.id, "U-carol", T0 + HOUR) == WriteClaim(
        ours=False,
        state=WriteState.DONE,
        user_id="U-bob",
        started_at=T0,
        finished_at=T0 + MINUTE,
        result="kept until 1 April",
    )


async def test_a_failed_write_may_be_tried_again(store: Store) -> None:
    stored = await _posted_failure(store)
    await _claim(store, stored.id, "U-bob", T0)
    await _finish(store, stored.id, ok=False, result="403 forbidden", now=T0 + MINUTE)

    assert await _claim(store, stored.id, "U-carol", T0 + 2 * MINUTE) == WriteClaim(
        ours=True, state=WriteState.RUNNING, user_id="U-carol", started_at=T0 + 2 * MINUTE
    )
    # Running again, so the next press waits for it; the old failure is gone.
    assert await _claim(store, stored.id, "U-dave", T0 + 3 * MINUTE) == WriteClaim(
        ours=False, state=WriteState.RUNNING, user_id="U-carol", started_at=T0 + 2 * MINUTE
    )
    (entry,) = await store.audit_entries("C-ops")
    assert (entry.outcome, entry.detail) == (AuditOutcome.FAILED, "403 forbidden")


async def test_a_write_left_running_by_a_dead_replica_is_taken_over_once_stale(
    store: Store,
) -> None:
    stored = await _posted_failure(store)
    await _claim(store, stored.id, "U-bob", T0)
    assert not (await _claim(store, stored.id, "U-carol", T0 + STALE)).ours
    taken = await _claim(store, stored.id, "U-carol", T0 + STALE + MINUTE)
    assert taken == WriteClaim(
        ours=True, state=WriteState.RUNNING, user_id="U-carol", started_at=T0 + STALE + MINUTE
    )


async def test_a_write_result_is_kept_to_500_characters(store: Store) -> None:
    stored = await _posted_failure(store)
    await _claim(store, stored.id, "U-bob", T0)
    await _finish(store, stored.id, ok=True, result="y" * 600, now=T0 + MINUTE)
    done = await _claim(store, stored.id, "U-carol", T0 + 2 * MINUTE)
    assert (done.state, done.result) == (WriteState.DONE, "y" * 500)


async def test_replicas_claiming_a_write_at_once_let_one_call_northflank(
    database_url: str, store: Store
) -> None:
    stored = await _posted_failure(store)
    async with replica_stores(database_url, RACERS) as stores:
        claims = await asyncio.gather(
            *(_claim(s, stored.id, f"U-{i}", T0) for i, s in enumerate(stores))
        )

    (winner,) = [c for c in claims if c.ours]
    assert {(c.state, c.user_id) for c in claims} == {(WriteState.RUNNING, winner.user_id)}
