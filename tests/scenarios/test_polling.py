"""Polling spends the API budget carefully: once per destination, incrementally."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import event, text

from bot.store import engine_for
from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import CHANNEL, Scenario, reply_text


def completed_backups(scenario: Scenario, prefix: str, count: int) -> list[dict[str, object]]:
    now = scenario.clock.now()
    return [
        make_backup(f"{prefix}-{i:05d}", created_at=now - timedelta(minutes=10 + i))
        for i in range(count)
    ]


def list_requests(scenario: Scenario) -> list[str]:
    return [r.path for r in scenario.northflank.requests if r.path.endswith("/backups")]


async def test_a_steady_poll_costs_one_request_per_destination_however_many_channels(
    scenario: Scenario,
) -> None:
    for d in range(3):
        scenario.northflank.add_destination(f"dest-{d}", f"Destination {d}")
        scenario.northflank.add_backups(f"dest-{d}", completed_backups(scenario, f"d{d}", 30))
        for c in range(4):
            await scenario.slash(f"watch dest-{d}", channel=f"C0CHAN{c}")
    scenario.clock.advance(minutes=5)
    await scenario.poll()  # settles anything the watches left
    scenario.northflank.clear_requests()

    scenario.clock.advance(minutes=5)
    report = await scenario.poll()
    assert report.requests == 3
    assert len(list_requests(scenario)) == 3
    assert sorted(d.destination_id for d in report.destinations) == ["dest-0", "dest-1", "dest-2"]


async def test_paging_stops_where_nothing_new_or_unfinished_lies_beyond(
    scenario: Scenario,
) -> None:
    scenario.northflank.add_destination("big", "Big")
    scenario.northflank.add_backups("big", completed_backups(scenario, "old", 250))
    await scenario.slash("watch big")  # reads all three pages: everything is new
    assert len(list_requests(scenario)) == 3

    scenario.northflank.clear_requests()
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert len(list_requests(scenario)) == 1

    # 150 new backups push the known ones two pages down: two pages, then stop.
    scenario.clock.advance(minutes=5)
    now = scenario.clock.now()
    scenario.northflank.add_backups(
        "big",
        [make_backup(f"new-{i:03d}", created_at=now - timedelta(seconds=i)) for i in range(150)],
    )
    scenario.northflank.clear_requests()
    await scenario.poll()
    assert len(list_requests(scenario)) == 2


async def test_an_unfinished_backup_further_down_is_followed_until_it_finishes(
    scenario: Scenario,
) -> None:
    scenario.northflank.add_destination("deep", "Deep")
    backups = completed_backups(scenario, "done", 150)
    slow = make_backup(
        "slow",
        name="slow-one",
        status="in-progress",
        created_at=scenario.clock.now() - timedelta(minutes=130),
    )
    scenario.northflank.add_backups("deep", [*backups, slow])
    await scenario.slash("watch deep")
    scenario.northflank.clear_requests()

    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert len(list_requests(scenario)) == 2  # page 2 holds the unfinished backup

    scenario.northflank.set_backup_status("deep", "slow", "failed", scenario.clock.now())
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert any("slow-one" in reply_text(m) for m in scenario.alerts_posted())

    scenario.northflank.clear_requests()
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert len(list_requests(scenario)) == 1  # finished: nothing to follow any more


async def test_backups_out_of_order_fall_back_to_a_full_scan(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    # Listed oldest first: the order the bot is told to expect does not hold.
    scenario.northflank.sort_listings = False
    scenario.northflank.add_destination("odd", "Odd")
    scenario.northflank.add_backups("odd", completed_backups(scenario, "a", 250)[::-1])
    await scenario.slash("watch odd")
    scenario.clock.advance(minutes=5)
    # Added last, so listed last: the newest backup is on the last page.
    scenario.northflank.add_backups(
        "odd",
        [
            make_backup(
                "late", name="late-failure", status="failed", created_at=scenario.clock.now()
            )
        ],
    )
    scenario.northflank.clear_requests()
    with caplog.at_level(logging.WARNING):
        report = await scenario.poll()
    assert len(list_requests(scenario)) == 3
    assert report.destinations[0].full_scan
    assert any("newest first" in r.getMessage() for r in caplog.records)
    assert any("late-failure" in reply_text(m) for m in scenario.alerts_posted())


async def test_unknown_statuses_and_malformed_backups_are_skipped_and_the_rest_processed(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    scenario.northflank.add_destination("mixed", "Mixed")
    await scenario.slash("watch mixed")
    scenario.clock.advance(minutes=5)
    now = scenario.clock.now()
    scenario.northflank.add_backups(
        "mixed",
        [
            make_backup("weird", name="weird-one", status="hibernating", created_at=now),
            make_backup("broken", created_at=now, createdAt="not a time"),
            make_backup("bad", name="real-failure", status="failed", created_at=now),
        ],
    )
    with caplog.at_level(logging.WARNING):
        report = await scenario.poll()
    assert report.destinations[0].error is None
    assert any("could not be read" in r.getMessage() for r in caplog.records)
    bodies = [reply_text(m) for m in scenario.alerts_posted()]
    assert sum("real-failure" in b for b in bodies) == 1
    assert not any("weird-one" in b for b in bodies)


async def test_a_tight_budget_stretches_the_interval_instead_of_hitting_429(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    for d in range(4):
        scenario.northflank.add_destination(f"dest-{d}", f"D{d}")
        await scenario.slash(f"watch dest-{d}")
    # 250 requests left of 1000, a reserve of 200, and an hour of 1-minute polls ahead.
    scenario.northflank.reset_rate_limit(remaining=250)
    scenario.clock.advance(minutes=5)
    first = await scenario.poll()  # this poll's responses show the bot how little is left
    assert first.plan is not None and not first.plan.stretched
    scenario.clock.advance(minutes=5)
    scenario.northflank.clear_requests()
    with caplog.at_level(logging.WARNING):
        report = await scenario.poll()
    assert report.plan is not None and report.plan.stretched
    assert len(report.destinations) == 1 and len(report.skipped) == 3
    assert len(list_requests(scenario)) == 1
    assert any("budget" in r.getMessage() for r in caplog.records)
    # The destinations left out go first next time.
    scenario.clock.advance(minutes=5)
    following = await scenario.poll()
    assert following.destinations[0].destination_id in report.skipped


async def test_list_without_a_destination_uses_the_one_this_channel_watches(
    scenario: Scenario,
) -> None:
    for d in range(2):
        scenario.northflank.add_destination(f"dest-{d}", f"Destination {d}")
    scenario.northflank.add_backups("dest-1", [make_backup("x", name="only-in-one")])
    await scenario.slash("watch dest-1", channel=CHANNEL)
    reply = await scenario.slash("list", channel=CHANNEL)
    assert "only-in-one" in reply
    elsewhere = await scenario.slash("list", channel="C0ELSEWHERE")
    assert "Which destination" in elsewhere


async def test_one_destination_failing_inside_the_bot_does_not_cost_the_others_their_poll(
    scenario: Scenario, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("dest-a", "dest-b"):
        scenario.northflank.add_destination(name, name)
        scenario.northflank.add_backups(name, [make_backup(f"{name}-old", name=f"{name}-old")])
        await scenario.slash(f"watch {name}")
    # Damage what the store knows of dest-a, as a bug or a bad manual edit might.
    engine = engine_for(scenario.database_url)
    async with engine.begin() as connection:
        await connection.execute(
            text("UPDATE known_backups SET schedules = 'not json' WHERE destination_id = 'dest-a'")
        )
    await engine.dispose()
    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        "dest-b",
        [make_backup("b-bad", name="b-failure", status="failed", created_at=scenario.clock.now())],
    )
    with caplog.at_level(logging.ERROR):
        report = await scenario.poll()
    errors = {d.destination_id: d.error for d in report.destinations}
    assert errors["dest-a"] is not None and errors["dest-b"] is None
    assert any("inside the bot" in r.getMessage() for r in caplog.records)
    assert any("b-failure" in reply_text(m) for m in scenario.alerts_posted())


async def test_an_unfinished_backup_deleted_in_northflank_is_no_longer_chased(
    scenario: Scenario,
) -> None:
    scenario.northflank.add_destination("deep", "Deep")
    slow = make_backup(
        "slow", status="in-progress", created_at=scenario.clock.now() - timedelta(minutes=200)
    )
    scenario.northflank.add_backups("deep", [*completed_backups(scenario, "done", 150), slow])
    await scenario.slash("watch deep events=failed")
    scenario.northflank.remove_backup("deep", "slow")
    scenario.clock.advance(minutes=5)
    scenario.northflank.clear_requests()
    await scenario.poll()
    assert len(list_requests(scenario)) == 2  # followed to the end once, not found
    assert await scenario.bot.store.known_statuses("deep", ["slow"]) == {}

    scenario.clock.advance(minutes=5)
    scenario.northflank.clear_requests()
    await scenario.poll()
    assert len(list_requests(scenario)) == 1


async def test_a_steady_poll_costs_two_transactions_per_destination_and_writes_no_backup(
    scenario: Scenario,
) -> None:
    # The claim with the reads before Northflank is asked, and one write after it (the poll
    # status, which gives the lease back). Measured as the difference between a
    # steady cycle of 3 destinations and one of 6, so the cycle's own queries
    # (which destinations are due, which leases run out) cancel out.
    transactions: list[int] = []
    statements: list[str] = []
    engine = scenario.bot.store.engine.sync_engine

    def began(*_: object) -> None:
        transactions.append(1)

    def executed(*args: object) -> None:
        statements.append(str(args[2]))

    async def steady_cycle() -> tuple[int, list[str]]:
        scenario.clock.advance(minutes=5)
        await scenario.poll()  # settles anything a new watch left
        scenario.clock.advance(minutes=5)
        transactions.clear()
        statements.clear()
        event.listen(engine, "begin", began)
        event.listen(engine, "before_cursor_execute", executed)
        try:
            report = await scenario.poll()
        finally:
            event.remove(engine, "begin", began)
            event.remove(engine, "before_cursor_execute", executed)
        assert report.requests == len(report.destinations)
        return len(transactions), list(statements)

    async def watch(names: range) -> None:
        for d in names:
            scenario.northflank.add_destination(f"dest-{d}", f"Destination {d}")
            scenario.northflank.add_backups(f"dest-{d}", completed_backups(scenario, f"d{d}", 20))
            await scenario.slash(f"watch dest-{d}")

    await watch(range(3))
    three, _ = await steady_cycle()
    await watch(range(3, 6))
    six, seen = await steady_cycle()
    assert (six - three) / 3 == 2
    writes = [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert not [s for s in writes if "known_backups" in s.split("WHERE")[0] or "addons" in s]
