"""The ledger: alerts are recorded once, recoveries resolve, and the outbox follows."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy.exc import StatementError

from bot.core.alerts import LedgerEntry, outage_subject
from bot.core.watches import Event
from bot.store import OutboxKind, OutboxState, Store
from tests.store.examples import (
    DAY,
    HOUR,
    PRIMARY,
    SECONDARY,
    T0,
    alert,
    digest,
    recovery,
    watching,
)


async def test_a_digest_becomes_ledger_rows_and_one_post(store: Store) -> None:
    watch = await watching(store)
    alerts = [alert(Event.FAILED, "b2"), alert(Event.STUCK, "b1"), alert(Event.FAILED, "b1")]
    result = await store.record_alerts([digest(watch, *alerts)], T0)

    stored = await store.alerts(result.alert_ids)
    assert [s.alert for s in stored] == alerts
    assert {(s.channel, s.destination_id, s.watch_id) for s in stored} == {
        ("C-ops", PRIMARY.id, watch.id)
    }
    assert all(s.message_ts is None and s.resolved_at is None for s in stored)
    assert all(s.created_at == T0 for s in stored)
    (post,) = await store.outbox_items()
    assert post.id == result.outbox_ids[0]
    assert (post.channel, post.kind, post.alert_ids) == (
        "C-ops",
        OutboxKind.POST,
        tuple(result.alert_ids),
    )
    assert (post.state, post.attempts, post.next_attempt_at) == (OutboxState.PENDING, 0, T0)
    assert post.parent_alert_id is None and post.last_error is None


async def test_recording_the_same_alert_twice_records_and_posts_it_once(store: Store) -> None:
    watch = await watching(store)
    batch = digest(watch, alert(Event.FAILED, "b1"))
    first = await store.record_alerts([batch], T0)
    again = await store.record_alerts([batch], T0 + HOUR)
    assert len(first.alert_ids) == 1 and len(first.outbox_ids) == 1
    assert (again.alert_ids, again.outbox_ids) == ([], [])
    assert len(await store.outbox_items()) == 1
    ledger = await store.ledger("C-ops", PRIMARY.id, since=T0 - DAY)
    assert ledger.raised == frozenset({(Event.FAILED, "b1")})


async def test_a_digest_posts_only_what_is_new(store: Store) -> None:
    watch = await watching(store)
    await store.record_alerts([digest(watch, alert(Event.FAILED, "b1"))], T0)
    result = await store.record_alerts(
        [digest(watch, alert(Event.FAILED, "b1"), alert(Event.FAILED, "b2"))], T0 + HOUR
    )
    (new_id,) = result.alert_ids
    (stored,) = await store.alerts([new_id])
    assert stored.alert.subject == "b2"
    assert (await store.outbox_items())[-1].alert_ids == (new_id,)


async def test_the_same_subject_is_news_in_another_channel(store: Store) -> None:
    ops, dba = await watching(store, "C-ops"), await watching(store, "C-dba")
    result = await store.record_alerts(
        [digest(ops, alert(Event.FAILED, "b1")), digest(dba, alert(Event.FAILED, "b1"))], T0
    )
    assert len(result.alert_ids) == 2
    assert [i.channel for i in await store.outbox_items()] == ["C-ops", "C-dba"]


async def test_a_muted_channel_records_but_posts_nothing(store: Store) -> None:
    watch = await watching(store)
    result = await store.record_alerts(
        [digest(watch, alert(Event.FAILED, "b1"), deliver=False)], T0
    )
    assert len(result.alert_ids) == 1 and result.outbox_ids == []
    assert await store.outbox_items() == []
    ledger = await store.ledger("C-ops", PRIMARY.id, since=T0)
    assert ledger.has(Event.FAILED, "b1")


async def _a_failure(store: Store, channel: str = "C-ops") -> int:
    """The ledger id of a failure raised in `channel`."""
    watch = await watching(store, channel)
    result = await store.record_alerts([digest(watch, alert(Event.FAILED, "b1"))], T0)
    return result.alert_ids[0]


async def test_a_recovery_resolves_the_problem_and_replies_under_it(store: Store) -> None:
    failure_id = await _a_failure(store)
    watch = await watching(store)
    later = T0 + DAY
    good = alert(Event.RECOVERED, "b2", occurred_at=later, resolves=(failure_id,))
    result = await store.record_alerts([recovery(watch, good)], later)

    (recovery_id,) = result.alert_ids
    (failure,) = await store.alerts([failure_id])
    assert failure.resolved_at == later
    reply, edit = (await store.outbox_items())[-2:]
    assert (reply.kind, reply.alert_ids, reply.parent_alert_id) == (
        OutboxKind.THREAD_REPLY,
        (recovery_id,),
        failure_id,
    )
    assert (edit.kind, edit.alert_ids) == (OutboxKind.UPDATE, (failure_id,))
    assert result.outbox_ids == [reply.id, edit.id]
    ledger = await store.ledger("C-ops", PRIMARY.id, since=later)
    assert ledger.open_problems == ()


async def test_a_muted_recovery_still_edits_the_original_message(store: Store) -> None:
    failure_id = await _a_failure(store)
    watch = await watching(store)
    good = alert(Event.RECOVERED, "b2", resolves=(failure_id,))
    result = await store.record_alerts([recovery(watch, good, deliver=False)], T0 + DAY)
    (edit,) = [i for i in await store.outbox_items() if i.id in result.outbox_ids]
    assert (edit.kind, edit.alert_ids) == (OutboxKind.UPDATE, (failure_id,))
    (failure,) = await store.alerts([failure_id])
    assert failure.resolved_at == T0 + DAY


async def test_a_recovery_recorded_twice_is_skipped_entirely(store: Store) -> None:
    failure_id = await _a_failure(store)
    watch = await watching(store)
    good = alert(Event.RECOVERED, "b2", resolves=(failure_id,))
    await store.record_alerts([recovery(watch, good)], T0 + DAY)
    before = await store.outbox_items()
    again = await store.record_alerts([recovery(watch, good)], T0 + 2 * DAY)
    assert (again.alert_ids, again.outbox_ids) == ([], [])
    assert await store.outbox_items() == before
    (failure,) = await store.alerts([failure_id])
    assert failure.resolved_at == T0 + DAY


async def test_a_recovery_never_resolves_another_channels_alert(store: Store) -> None:
    theirs = await _a_failure(store, "C-dba")
    ours = await watching(store, "C-ops")
    good = alert(Event.RECOVERED, "b2", resolves=(theirs,))
    await store.record_alerts([recovery(ours, good)], T0 + DAY)
    (failure,) = await store.alerts([theirs])
    assert failure.resolved_at is None


async def test_all_batches_are_recorded_or_none_is(store: Store) -> None:
    ops, dba = await watching(store, "C-ops"), await watching(store, "C-dba")
    broken = alert(Event.FAILED, "b2", occurred_at=datetime(2025, 3, 1))  # naive, a bug upstream
    with pytest.raises(StatementError):
        await store.record_alerts([digest(ops, alert(Event.FAILED, "b1")), digest(dba, broken)], T0)
    assert await store.outbox_items() == []
    assert (await store.ledger("C-ops", PRIMARY.id, since=T0 - DAY)).raised == frozenset()


# ----- what the rules are told ----------------------------------------------------------


async def test_the_ledger_holds_recent_alerts_and_every_open_problem(store: Store) -> None:
    watch = await watching(store)
    long_ago, recently = T0 - 200 * DAY, T0 - HOUR
    outage = outage_subject(long_ago)
    old = await store.record_alerts(
        [
            digest(
                watch,
                alert(Event.FAILED, "old-open", occurred_at=long_ago),
                alert(Event.EXPIRING, "old-expiring", occurred_at=long_ago),
                alert(Event.FAILED, "old-resolved", occurred_at=long_ago),
                alert(Event.NORTHFLANK_PROBLEM, outage, occurred_at=long_ago, problem="401"),
            )
        ],
        long_ago,
    )
    old_open, _, old_resolved, outage_id = old.alert_ids
    fix = alert(Event.RECOVERED, "fix", occurred_at=long_ago, resolves=(old_resolved,))
    await store.record_alerts([recovery(watch, fix)], long_ago)
    new = await store.record_alerts(
        [digest(watch, alert(Event.STUCK, "new", occurred_at=recently))], recently
    )

    ledger = await store.ledger("C-ops", PRIMARY.id, since=T0 - DAY)

    # Old entries count only while they are open problems; the recent ones all count.
    assert ledger.raised == frozenset(
        {
            (Event.FAILED, "old-open"),
            (Event.NORTHFLANK_PROBLEM, outage),
            (Event.STUCK, "new"),
        }
    )
    assert [(e.id, e.event, e.subject) for e in ledger.open_problems] == [
        (old_open, Event.FAILED, "old-open"),
        (outage_id, Event.NORTHFLANK_PROBLEM, outage),
        (new.alert_ids[0], Event.STUCK, "new"),
    ]
    assert ledger.open_problems[0] == LedgerEntry(
        id=old_open,
        event=Event.FAILED,
        subject="old-open",
        addon_id="addon-db",
        occurred_at=long_ago,
        # On Northflank's timeline: the failed backup's createdAt.
        began_at=long_ago,
    )


async def test_recent_alerts_count_as_raised_whatever_they_are(store: Store) -> None:
    watch = await watching(store)
    problem = await _a_failure(store)
    fix = alert(Event.RECOVERED, "b2", resolves=(problem,))
    await store.record_alerts(
        [recovery(watch, fix), digest(watch, alert(Event.EXPIRING, "b3"))], T0 + HOUR
    )
    ledger = await store.ledger("C-ops", PRIMARY.id, since=T0)
    assert ledger.raised == frozenset(
        {(Event.FAILED, "b1"), (Event.RECOVERED, "b2"), (Event.EXPIRING, "b3")}
    )
    assert ledger.open_problems == ()


async def test_the_ledger_is_per_channel_and_destination(store: Store) -> None:
    ops = await watching(store, "C-ops", PRIMARY)
    await watching(store, "C-ops", SECONDARY)
    await store.record_alerts([digest(ops, alert(Event.FAILED, "b1"))], T0)
    assert (await store.ledger("C-ops", SECONDARY.id, since=T0 - DAY)).raised == frozenset()
    assert (await store.ledger("C-dba", PRIMARY.id, since=T0 - DAY)).raised == frozenset()


async def test_alerts_by_message(store: Store) -> None:
    watch = await watching(store)
    result = await store.record_alerts(
        [digest(watch, alert(Event.FAILED, "b1"), alert(Event.FAILED, "b2"))], T0
    )
    (post_id,) = result.outbox_ids
    await store.mark_delivered(post_id, now=T0, message_ts="1700.01", alert_ids=result.alert_ids)
    shown = await store.message_alerts("C-ops", "1700.01")
    assert [s.id for s in shown] == result.alert_ids
    assert {s.message_ts for s in shown} == {"1700.01"}
    assert await store.message_alerts("C-other", "1700.01") == []
    assert await store.alerts([]) == []
