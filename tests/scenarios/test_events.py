"""Every event, end to end: Northflank changes, a poll runs, Slack gets exactly one alert."""

from __future__ import annotations

from datetime import timedelta

from tests.fakes.northflank import make_backup
from tests.scenarios.conftest import CHANNEL, Scenario, reply_text

DEST = "dest-1"
DAILY_2AM = [{"interval": "daily", "minute": [0], "hour": [2]}]


def setup_destination(scenario: Scenario, *backups: dict[str, object]) -> None:
    scenario.northflank.add_destination(DEST, "Nightly S3")
    scenario.northflank.add_backups(DEST, backups)


async def watch(scenario: Scenario, options: str = "") -> str:
    return await scenario.slash(f"watch {DEST} {options}".strip())


def alerts_mentioning(scenario: Scenario, text: str) -> list[str]:
    bodies = [reply_text(m) for m in scenario.alerts_posted()]
    return [body for body in bodies if text in body]


async def test_watch_summarises_and_announces_without_alerting_history(
    scenario: Scenario,
) -> None:
    now = scenario.clock.now()
    setup_destination(
        scenario,
        make_backup("old-ok", name="old-ok", created_at=now - timedelta(days=2)),
        make_backup("old-bad", name="old-bad", status="failed", created_at=now - timedelta(days=1)),
    )
    reply = await watch(scenario)
    assert "Nightly S3" in reply
    assert "failed" in reply  # the summary counts the failure that is already there
    announcements = scenario.alerts_posted()
    assert len(announcements) == 1 and "<@U0ADMIN>" in reply_text(announcements[0])

    scenario.clock.advance(minutes=5)
    await scenario.poll()
    # History is not news: the old failure raises nothing.
    assert alerts_mentioning(scenario, "old-bad") == []


async def test_a_backup_failing_after_the_watch_began_is_alerted_once(scenario: Scenario) -> None:
    now = scenario.clock.now()
    setup_destination(
        scenario, make_backup("b1", name="orders-nightly", status="in-progress", created_at=now)
    )
    await watch(scenario)
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert alerts_mentioning(scenario, "orders-nightly") == []

    scenario.northflank.set_backup_status(DEST, "b1", "failed", completed_at=scenario.clock.now())
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    alerts = alerts_mentioning(scenario, "orders-nightly")
    assert len(alerts) == 1 and "failed" in alerts[0].lower()

    for _ in range(3):
        scenario.clock.advance(minutes=5)
        await scenario.poll()
    assert len(alerts_mentioning(scenario, "orders-nightly")) == 1


async def test_a_new_backup_already_aborted_is_alerted(scenario: Scenario) -> None:
    setup_destination(scenario)
    await watch(scenario)
    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        DEST,
        [make_backup("b2", name="aborted-one", status="aborted", created_at=scenario.clock.now())],
    )
    scenario.clock.advance(minutes=1)
    await scenario.poll()
    alerts = alerts_mentioning(scenario, "aborted-one")
    assert len(alerts) == 1 and "abort" in alerts[0].lower()


async def test_a_backup_in_progress_longer_than_stuck_is_alerted(scenario: Scenario) -> None:
    now = scenario.clock.now()
    setup_destination(
        scenario,
        make_backup(
            "slow", name="slow-one", status="in-progress", created_at=now - timedelta(hours=1)
        ),
    )
    await watch(scenario, "stuck=2h")
    scenario.clock.advance(minutes=50)
    await scenario.poll()
    assert alerts_mentioning(scenario, "slow-one") == []
    scenario.clock.advance(minutes=20)
    await scenario.poll()
    alerts = alerts_mentioning(scenario, "slow-one")
    assert len(alerts) == 1 and "stuck" in alerts[0].lower()


async def test_a_backup_near_expiry_is_alerted_from_the_store(scenario: Scenario) -> None:
    now = scenario.clock.now()
    setup_destination(
        scenario,
        make_backup(
            "keep",
            name="manual-before-upgrade",
            created_at=now - timedelta(days=6),
            expired_by=now + timedelta(days=2),
        ),
    )
    await watch(scenario, "expiry=1d")
    scenario.clock.advance(hours=12)
    await scenario.poll()
    assert alerts_mentioning(scenario, "manual-before-upgrade") == []

    requests_before = scenario.northflank.request_count()
    scenario.clock.advance(hours=13)
    await scenario.poll()
    alerts = alerts_mentioning(scenario, "manual-before-upgrade")
    assert len(alerts) == 1 and "expir" in alerts[0].lower()
    # The warning came from the store: the poll cost its one page, nothing more.
    assert scenario.northflank.request_count() - requests_before == 1


async def test_a_scheduled_run_that_never_happens_is_missed(scenario: Scenario) -> None:
    # Monday 12:00. The addon is backed up daily at 02:00; today's run happened.
    now = scenario.clock.now()
    today_2am = now.replace(hour=2, minute=0)
    setup_destination(
        scenario,
        make_backup("today", name="daily-mon", created_at=today_2am, schedules=DAILY_2AM),
    )
    await watch(scenario)
    # Tuesday 02:00 comes and goes with no backup; the grace runs out an hour later.
    scenario.clock.set(today_2am + timedelta(days=1, minutes=30))
    await scenario.poll()
    assert scenario.alerts_posted()[1:] == []
    scenario.clock.set(today_2am + timedelta(days=1, hours=1, minutes=5))
    await scenario.poll()
    missed = [reply_text(m) for m in scenario.alerts_posted()[1:]]
    assert len(missed) == 1 and "miss" in missed[0].lower()
    scenario.clock.advance(minutes=30)
    await scenario.poll()
    assert len(scenario.alerts_posted()[1:]) == 1


async def test_a_later_good_backup_recovers_in_the_thread_and_marks_the_alert(
    scenario: Scenario,
) -> None:
    setup_destination(scenario)
    await watch(scenario)
    scenario.clock.advance(minutes=5)
    scenario.northflank.add_backups(
        DEST, [make_backup("bad", name="bad-one", status="failed", created_at=scenario.clock.now())]
    )
    await scenario.poll()
    [alert] = [m for m in scenario.alerts_posted() if "bad-one" in reply_text(m)]

    scenario.clock.advance(minutes=30)
    scenario.northflank.add_backups(
        DEST, [make_backup("good", name="good-one", created_at=scenario.clock.now())]
    )
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    replies = scenario.thread_replies()
    assert len(replies) == 1
    assert replies[0]["thread_ts"] == alert["ts"]
    assert "good-one" in reply_text(replies[0]) or "recover" in reply_text(replies[0]).lower()
    edited = scenario.slack.message(CHANNEL, alert["ts"])
    assert edited is not None and reply_text(edited) != reply_text(alert)
    assert "resolved" in reply_text(edited).lower()
    # No new top-level message for the recovery, and nothing repeats.
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert len(scenario.thread_replies()) == 1


async def test_northflank_problems_are_reported_once_and_their_end_too(scenario: Scenario) -> None:
    setup_destination(scenario, make_backup("b", created_at=scenario.clock.now()))
    await watch(scenario)
    scenario.northflank.set_token("a-rotated-token")
    for _ in range(5):
        scenario.clock.advance(minutes=5)
        await scenario.poll()
    problems = [m for m in scenario.alerts_posted()[1:]]
    assert len(problems) == 1
    assert "NORTHFLANK_API_TOKEN" in reply_text(problems[0])

    scenario.northflank.set_token("nf-test-token")
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    replies = scenario.thread_replies()
    assert len(replies) == 1 and replies[0]["thread_ts"] == problems[0]["ts"]
    scenario.clock.advance(minutes=5)
    await scenario.poll()
    assert len(scenario.thread_replies()) == 1
    assert len(scenario.alerts_posted()[1:]) == 1
