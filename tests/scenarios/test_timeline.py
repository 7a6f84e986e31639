"""Alerts decided by Northflank's own timeline, end to end, on both databases.

A failure and its retry, whatever the polls saw of them; a completed backup
that looks wrong; a run missed before the watch began; a first read that met
unreadable items. After each, nothing is left open that should not be.
"""

from __future__ import annotations

from datetime import timedelta

from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import CHANNEL, Scenario, reply_text

DEST = "dest-1"
DAILY_2AM = [{"interval": "daily", "minute": [0], "hour": [2]}]
MB = 1_000_000


async def watched(scenario: Scenario, *backups: dict[str, object], options: str = "") -> str:
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(DEST, backups)
    return await scenario.slash(f"watch {DEST} {options}".strip())


async def open_problems(scenario: Scenario) -> list[str]:
    ledger = await scenario.bot.store.ledger(
        CHANNEL, DEST, since=scenario.clock.now() - timedelta(days=1)
    )
    return [entry.subject for entry in ledger.open_problems]


def messages_about(scenario: Scenario, text: str) -> list[dict[str, object]]:
    return [m for m in scenario.alerts_posted() if text in reply_text(m)]


async def test_a_failure_retried_before_the_next_poll_is_posted_resolved_with_its_recovery(
    scenario: Scenario,
) -> None:
    # Seen running; it fails and an operator retries it at once, with success, all
    # between two polls. Before, the failure stayed open until the next nightly backup.
    await watched(scenario)
    started = scenario.clock.now()
    scenario.northflank.add_backups(
        DEST, [make_backup("b1", name="nightly-orders", status="in-progress", created_at=started)]
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()

    scenario.northflank.set_backup_status(DEST, "b1", "failed", completed_at=scenario.clock.now())
    retry_at = scenario.clock.now() + timedelta(minutes=1)
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                "b2",
                name="orders-retry",
                created_at=retry_at,
                completed_at=retry_at + timedelta(minutes=3),
            )
        ],
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()

    [failure] = messages_about(scenario, "nightly-orders")
    shown = scenario.slack.message(CHANNEL, str(failure["ts"]))
    assert shown is not None and "Resolved" in reply_text(shown)
    [reply] = scenario.thread_replies()
    assert reply["thread_ts"] == failure["ts"] and "orders-retry" in reply_text(reply)
    assert await open_problems(scenario) == []
    # Nothing more: no reminder, no second recovery, the next day either.
    scenario.clock.advance(days=1, minutes=5)
    await scenario.poll()
    await scenario.bot.followups.run()
    await scenario.deliver()
    assert len(scenario.thread_replies()) == 1


async def test_a_failure_and_its_retry_first_seen_together_leave_nothing_open(
    scenario: Scenario,
) -> None:
    await watched(scenario)
    scenario.clock.advance(minutes=5)
    now = scenario.clock.now()
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup(
                "a1",
                name="aborted-run",
                status="aborted",
                created_at=now - timedelta(minutes=4),
                completed_at=now - timedelta(minutes=3),
            ),
            make_backup(
                "a2",
                name="second-try",
                created_at=now - timedelta(minutes=2),
                completed_at=now - timedelta(minutes=1),
            ),
        ],
    )
    await scenario.poll()
    [aborted] = messages_about(scenario, "aborted-run")
    assert "Resolved" in reply_text(scenario.slack.message(CHANNEL, str(aborted["ts"])) or {})
    assert ["second-try" in reply_text(r) for r in scenario.thread_replies()] == [True]
    assert await open_problems(scenario) == []


async def test_a_retry_started_before_the_failure_was_seen_recovers_it_at_the_next_poll(
    scenario: Scenario,
) -> None:
    # The retry was started while the first run still ran; the poll saw the failure
    # first, and the retry completing at the next: its createdAt is after the failed
    # run's, so it recovers it, though the bot saw the failure after it was created.
    await watched(scenario)
    base = scenario.clock.now()
    scenario.northflank.add_backups(
        DEST,
        [
            make_backup("f1", name="first-run", status="in-progress", created_at=base),
            make_backup(
                "f2",
                name="parallel-run",
                status="in-progress",
                created_at=base + timedelta(minutes=1),
            ),
        ],
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    scenario.northflank.set_backup_status(DEST, "f1", "failed", completed_at=scenario.clock.now())
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert len(messages_about(scenario, "first-run")) == 1
    assert await open_problems(scenario) == ["f1"]
    scenario.northflank.set_backup_status(
        DEST, "f2", "completed", completed_at=scenario.clock.now()
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert ["parallel-run" in reply_text(r) for r in scenario.thread_replies()] == [True]
    assert await open_problems(scenario) == []


async def test_an_empty_completed_backup_is_an_anomaly_and_a_normal_one_ends_it(
    scenario: Scenario,
) -> None:
    first = scenario.clock.now() - timedelta(days=10)
    usual = [
        make_backup(
            f"n{i}", name=f"nightly-{i}", created_at=first + timedelta(days=i), size=840 * MB
        )
        for i in range(10)
    ]
    await watched(scenario, *usual)
    scenario.clock.advance(minutes=5)
    now = scenario.clock.now()
    scenario.northflank.add_backups(
        DEST, [make_backup("tiny", name="nightly-tiny", created_at=now, size=int(1.2 * MB))]
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    [anomaly] = messages_about(scenario, "nightly-tiny")
    text = reply_text(anomaly)
    assert "looks wrong" in text.lower() or "Anomaly" in text
    assert "1.1 MiB, against a median of 801.1 MiB over the last 10 backups" in text
    assert await open_problems(scenario) == ["tiny"]

    scenario.clock.advance(hours=1)
    later = scenario.clock.now()
    scenario.northflank.add_backups(
        DEST, [make_backup("ok", name="nightly-ok", created_at=later, size=830 * MB)]
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    [recovery] = scenario.thread_replies()
    assert recovery["thread_ts"] == anomaly["ts"] and "nightly-ok" in reply_text(recovery)
    assert await open_problems(scenario) == []


async def test_a_channel_that_leaves_anomaly_out_of_events_hears_none(scenario: Scenario) -> None:
    first = scenario.clock.now() - timedelta(days=10)
    usual = [make_backup(f"n{i}", created_at=first + timedelta(days=i)) for i in range(10)]
    await watched(scenario, *usual, options="events=failed,aborted,expiring,stuck,missed")
    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        DEST, [make_backup("empty", name="empty-one", created_at=scenario.clock.now(), size=0)]
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert messages_about(scenario, "empty-one") == []


async def test_a_run_missed_before_the_watch_is_alerted_once_at_once_and_in_the_reply(
    scenario: Scenario,
) -> None:
    # The daily 02:00 backup stopped three days ago.
    today_2am = scenario.clock.now().replace(hour=2, minute=0)
    last = today_2am - timedelta(days=3)
    reply = await watched(
        scenario, make_backup("last", name="daily-last", created_at=last, schedules=DAILY_2AM)
    )
    assert "Missing its latest scheduled backup" in reply and "daily at 02:00 UTC" in reply
    await scenario.deliver()
    missed = [m for m in scenario.alerts_posted() if "Scheduled backup missed" in reply_text(m)]
    assert len(missed) == 1
    # Once: the next runs stay quiet while it is open.
    scenario.clock.set(today_2am + timedelta(days=1, hours=1, minutes=5))
    await scenario.poll()
    assert [
        m for m in scenario.alerts_posted() if "Scheduled backup missed" in reply_text(m)
    ] == missed


async def test_a_first_read_that_met_unreadable_backups_is_read_again(scenario: Scenario) -> None:
    now = scenario.clock.now()
    await watched(
        scenario,
        make_backup("fine", created_at=now - timedelta(hours=2)),
        make_backup("odd", created_at=now - timedelta(hours=1), createdAt="not a time"),
    )
    store = scenario.bot.store
    first = await store.scan_state(DEST)
    assert (first.complete, first.attempts) == (False, 1)
    # The next polls read it all again; the item stays unreadable, and after the
    # third read the destination counts as read rather than re-read every poll.
    for expected in ((False, 2), (True, 3)):
        scenario.clock.advance(minutes=2)
        await scenario.poll()
        scan = await store.scan_state(DEST)
        assert (scan.complete, scan.attempts) == expected


async def test_a_first_read_whose_unreadable_item_heals_completes(scenario: Scenario) -> None:
    now = scenario.clock.now()
    await watched(scenario, make_backup("odd", created_at=now, createdAt="not a time"))
    assert not (await scenario.bot.store.scan_state(DEST)).complete
    scenario.northflank.remove_backup(DEST, "odd")
    scenario.northflank.add_backups(DEST, [make_backup("odd", created_at=now)])
    scenario.clock.advance(minutes=2)
    await scenario.poll()
    assert (await scenario.bot.store.scan_state(DEST)).complete
