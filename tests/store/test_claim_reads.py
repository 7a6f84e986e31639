"""A claim with the reads its poll needs: on PostgreSQL one statement, read exactly as
`begin_poll` reads them; and, when the cycle's plan no longer matches the watches,
read again for that plan. On both databases."""

from __future__ import annotations

from datetime import timedelta

from bot.core import rules
from bot.core.audit import AuditAction
from bot.core.handling import Snooze
from bot.core.watches import Event, Watch, WatchSettings
from bot.store import PollPlan, PollPlans, PollStart, ScanState, Store
from tests.databases import executed_statements
from tests.store.examples import (
    DAILY,
    DAY,
    HOUR,
    HOURLY,
    PRIMARY,
    SECONDARY,
    T0,
    alert,
    audit_entry,
    backup,
    digest,
    posted,
    watching,
)

DEST = PRIMARY.id
NO_EXPIRY_WARNINGS = WatchSettings(events=frozenset({Event.FAILED, Event.STUCK}))


def _plan_of(watches: list[Watch], *, newest: int = 3) -> PollPlan:
    """As the poller plans a destination's poll from the watches its cycle began with."""
    return PollPlan(
        channels=frozenset(w.channel for w in watches),
        lookback=rules.LOOKBACK,
        horizon=rules.expiry_horizon(watches),
        ledger_memory=30 * DAY,
        newest=newest,
    )


async def _claim(store: Store, plan: PollPlan, *, newest: int | None = None) -> PollStart:
    """`newest`: the cycle's, where it is not the plan's."""
    common = PollPlan(
        frozenset(), plan.lookback, timedelta(0), plan.ledger_memory, newest or plan.newest
    )
    claimed = await store.claim_and_begin(
        "replica-a",
        now=T0,
        until=T0 + HOUR,
        due_before=None,
        only=DEST,
        plan=PollPlans(common, lambda destination_id: plan),
    )
    assert claimed is not None and claimed[0] == DEST and claimed[1] is not None
    return claimed[1]


async def _a_destination_with_history(store: Store) -> list[Watch]:
    """Two channels watching (one wants expiry warnings), backups of every kind the
    rules look at, open and old ledger entries, and snoozes: every read has rows."""
    ops = await watching(store, "C-ops")
    dev = await watching(store, "C-dev", settings=NO_EXPIRY_WARNINGS)
    await watching(store, "C-other", SECONDARY)
    page = [
        backup("b-running", "in-progress", created_at=T0 - HOUR),
        backup("b-failed", "failed", created_at=T0 - 2 * HOUR),
        backup("b-expiring", created_at=T0 - 3 * HOUR, expires_at=T0 + 2 * DAY),
        backup("b-later", created_at=T0 - 4 * HOUR, expires_at=T0 + 10 * DAY),
        backup("b-old-failure", "failed", created_at=T0 - 30 * DAY),
        backup('b-odd\'s "text", {x}', "restoring", created_at=T0 - 5 * HOUR, addon="addon-2"),
        # NULLs, and JSON that is more than an empty list, through the records too.
        backup(
            "b-bare",
            "queued",
            created_at=T0 - 6 * HOUR,
            addon=None,
            project=None,
            size_bytes=None,
            schedules=(DAILY, HOURLY),
        ),
    ]
    await store.save_backups(DEST, page, T0 - 30 * DAY)
    await store.save_backups(DEST, [b for b in page if b.id != "b-old-failure"], T0 - HOUR)
    await store.save_scan_state(DEST, ScanState(complete=True, attempts=2))
    await store.record_poll_success(DEST, T0 - HOUR)
    (failure,) = await posted(store, ops, alert(Event.FAILED, "b-failed"))
    await store.record_alerts([digest(dev, alert(Event.STUCK, "b-running"))], T0)
    await store.record_alerts([digest(ops, alert(Event.FAILED, "b-gone"))], T0 - 60 * DAY)
    for channel, destination, until in (
        ("C-ops", DEST, T0 + DAY),
        ("C-ops", SECONDARY.id, T0 + DAY),
        ("C-dev", DEST, T0 - HOUR),  # over
    ):
        snooze = Snooze(channel, destination, "addon-db", Event.FAILED, until, "U-bob", T0)
        await store.snooze(
            snooze, alert_id=failure.id, now=T0, audit=audit_entry(AuditAction.SNOOZE)
        )
    await store.ensure_poll_rows()
    return [ops, dev]


async def test_the_claims_reads_are_the_reads_of_begin_poll_on_one_connection(
    store: Store,
) -> None:
    watches = await _a_destination_with_history(store)
    plan = _plan_of(watches)
    expected = await store.begin_poll(DEST, T0, plan)
    with executed_statements() as seen:
        start = await _claim(store, plan)
    assert start == expected
    # Every read had rows to read: the comparison above compares something.
    assert {k.backup.id for k in start.state.backups} == {
        "b-running",
        "b-failed",
        "b-expiring",
        'b-odd\'s "text", {x}',
        "b-bare",
    }
    # Those, and the three newest (all three can alert too).
    assert set(start.newest) == {k.backup.id for k in start.state.backups}
    assert start.newest["b-bare"]["schedules"] == expected.newest["b-bare"]["schedules"] != []
    assert [a.addon.id for a in start.state.addons] == ["addon-2", "addon-db"]
    # b-gone: older than the ledger's memory, but an open problem still.
    assert start.ledgers["C-ops"].raised == frozenset(
        {(Event.FAILED, "b-failed"), (Event.FAILED, "b-gone")}
    )
    assert start.ledgers["C-dev"].raised == frozenset({(Event.STUCK, "b-running")})
    assert {(s.channel, s.destination_id) for s in start.snoozes} == {
        ("C-ops", DEST),
        ("C-ops", SECONDARY.id),
    }
    assert start.status is not None and start.scan == ScanState(complete=True, attempts=2)
    if store.engine.dialect.name == "postgresql":
        # The claim and every read: one statement, one round trip.
        assert len(seen) == 1 and seen[0].lstrip().upper().startswith("WITH")
    else:
        assert len(seen) > 1


async def test_a_channel_that_started_watching_since_the_plan_is_passed_over(
    store: Store,
) -> None:
    watches = await _a_destination_with_history(store)
    new = await watching(store, "C-new")
    (failure,) = await posted(store, new, alert(Event.FAILED, "b-failed"))
    snooze = Snooze("C-new", DEST, "addon-db", Event.FAILED, T0 + DAY, "U-bob", T0)
    await store.snooze(snooze, alert_id=failure.id, now=T0, audit=audit_entry(AuditAction.SNOOZE))
    plan = _plan_of(watches)
    expected = await store.begin_poll(DEST, T0, plan)
    with executed_statements() as seen:
        start = await _claim(store, plan)
    assert start == expected
    assert sorted(start.ledgers) == ["C-dev", "C-ops"]
    assert "C-new" not in {s.channel for s in start.snoozes}
    if store.engine.dialect.name == "postgresql":
        assert len(seen) == 1


async def test_a_channel_that_stopped_watching_since_the_plan_is_read_for_exactly(
    store: Store,
) -> None:
    # The cycle began while C-gone still watched.
    watches = await _a_destination_with_history(store)
    gone = await watching(store, "C-gone", settings=NO_EXPIRY_WARNINGS)
    await store.record_alerts([digest(gone, alert(Event.FAILED, "b-failed"))], T0)
    await store.remove_watch(gone.channel, DEST)
    plan = _plan_of([*watches, gone])
    start = await _read_again(store, plan)
    assert start.ledgers["C-gone"].raised == frozenset({(Event.FAILED, "b-failed")})


async def test_a_horizon_other_than_the_watches_say_is_read_for_exactly(store: Store) -> None:
    # The cycle began while C-ops looked 11 days ahead for expiring backups.
    watches = await _a_destination_with_history(store)
    plan = _plan_of(watches)
    wider = PollPlan(plan.channels, plan.lookback, 11 * DAY, plan.ledger_memory, plan.newest)
    start = await _read_again(store, wider)
    assert "b-later" in {k.backup.id for k in start.state.backups}


async def _read_again(store: Store, plan: PollPlan) -> PollStart:
    """The claim's start for `plan`, which the watches no longer match."""
    expected = await store.begin_poll(DEST, T0, plan)
    with executed_statements() as seen:
        start = await _claim(store, plan)
    assert start == expected
    if store.engine.dialect.name == "postgresql":
        # The statement's reads, set aside, then the reads for this plan.
        assert len(seen) > 1
    return start


async def test_a_plan_that_reads_other_than_its_cycle_is_read_for_exactly(store: Store) -> None:
    watches = await _a_destination_with_history(store)
    plan = _plan_of(watches, newest=6)
    expected = await store.begin_poll(DEST, T0, plan)
    with executed_statements() as seen:
        start = await _claim(store, plan, newest=1)
    assert start == expected and len(start.newest) == 6
    if store.engine.dialect.name == "postgresql":
        assert len(seen) > 1
