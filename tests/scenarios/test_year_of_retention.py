"""A year of hourly backups, polled with a moved clock: the database stays bounded.

Northflank makes a backup every hour and deletes each a week later, as its
retention says; one in every FAIL_EVERY fails and one in every EMPTY_EVERY
completes empty (an anomaly), and the good backups after them recover them;
one failed backup is retained by hand, so Northflank lists it all year. The bot
polls every third day, which still sees every backup Northflank lists (a year
of hourly polls would take ten minutes a database, and the rows each poll
leaves are the same); the retention job runs after each poll, and then the
test counts every table's rows.

What must show: after the retention window (RETENTION_DAYS, plus the week a
backup stays listed), no table grows; and over the whole year each problem was
posted exactly once, so no purge ever let the rules raise an alert again. The
figures printed are the ones the README and the closing note quote.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from bot.services.retention import DEFAULT_RETENTION
from tests.clock import FakeClock
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.figures import report
from tests.scenarios.conftest import CHANNEL, Scenario, reply_text, running

pytestmark = pytest.mark.slow

DEST = "dest-1"
HOURLY = [{"interval": "hourly", "minute": [0]}]
DAYS = 365
POLL_EVERY = timedelta(hours=72)
FAIL_EVERY = 61  # hours: a failure every two and a half days, at every hour of the day
EMPTY_EVERY = 239  # hours: an empty "completed" backup every ten days or so
KEPT_FAILURE_AT = 30  # hours in: the failed backup someone retains in Northflank
LISTED_FOR = timedelta(days=7)
SIZE = 800_000_000
# The inflow between two polls at most, for "flat": the rows three days' backups and
# problems add.
INFLOW = {"known_backups": 72, "alerts": 4, "outbox": 4}


class YearScenario(Scenario):
    poll_interval = int(POLL_EVERY.total_seconds())


@pytest.fixture
async def year(fake_slack: FakeSlack, database_url: str) -> AsyncIterator[YearScenario]:
    # The real hour's rate limit would stop a year of polls run in a minute.
    with FakeNorthflank(rate_limit=10**9) as northflank:
        world = YearScenario(northflank, fake_slack, FakeClock(), database_url)
        async with running(world) as started:
            yield started


def hourly_backup(hour: int, created: datetime) -> dict[str, object]:
    if hour == KEPT_FAILURE_AT:
        return make_backup(
            f"h{hour}",
            name="kept-failure",
            status="failed",
            created_at=created,
            expired_by=created + timedelta(days=DAYS * 2),
            schedules=HOURLY,
            size=SIZE,
        )
    status = "failed" if hour % FAIL_EVERY == FAIL_EVERY - 1 else "completed"
    size = 0 if hour % EMPTY_EVERY == EMPTY_EVERY - 1 else SIZE
    return make_backup(
        f"h{hour}",
        name=f"hourly-{hour:05d}",
        status=status,
        created_at=created,
        schedules=HOURLY,
        size=size,
    )


async def test_a_year_of_hourly_backups_leaves_every_table_flat_and_raises_nothing_twice(
    year: YearScenario,
) -> None:
    northflank, clock = year.northflank, year.clock
    start = clock.now().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    northflank.add_destination(DEST, "Hourly S3")
    northflank.add_backups(DEST, [hourly_backup(0, start)])
    clock.set(start + timedelta(minutes=30))
    # Every backup here expires within the week, as planned: no expiry alerts.
    reply = await year.slash(f"watch {DEST} events=failed,aborted,stuck,missed,anomaly")
    assert "now watches" in reply, reply

    listed: list[tuple[datetime, str]] = [(start + LISTED_FOR, "h0")]
    counts: list[tuple[datetime, dict[str, int]]] = []
    deleted: Counter[str] = Counter()
    problems: list[str] = []
    for hour in range(1, DAYS * 24):
        created = start + timedelta(hours=hour)
        backup = hourly_backup(hour, created)
        if backup["status"] == "failed" or backup["config"]["size"] == "0":  # type: ignore[index]
            problems.append(str(backup["name"]))
        northflank.add_backups(DEST, [backup])
        if hour != KEPT_FAILURE_AT:
            listed.append((created + LISTED_FOR, str(backup["id"])))
        clock.set(created + timedelta(minutes=30))
        # Northflank deletes what expired.
        while listed and listed[0][0] <= clock.now():
            northflank.remove_backup(DEST, listed.pop(0)[1])
        if hour % int(POLL_EVERY.total_seconds() // 3600) == 0:
            await year.poll()
            ran = await year.bot.retention.run()
            assert ran.ran
            deleted.update(ran.deleted)
            counts.append((created, await year.bot.store.row_counts()))

    # The last hours of the year, less than an interval after the last regular poll.
    await year.bot.poller.poll_all(force=True)
    await year.deliver()

    # Each problem was posted in exactly one alert, the one Northflank lists all year
    # too, though retention ran 121 times; and each alert shows it was resolved. One
    # good backup recovers every problem its addon had open, in one reply threaded
    # under the first of them; the others' messages are edited to say "Resolved".
    posted = year.alerts_posted()
    texts = [reply_text(message) for message in posted]
    times_posted = Counter(name for name in problems for text in texts if name in text)
    assert times_posted == Counter(problems), "some problem was posted twice, or never"
    assert "kept-failure" in problems
    for message in posted[1:]:  # after the watch announcement
        now_shown = year.slack.message(CHANNEL, str(message["ts"]))
        assert now_shown is not None and "Resolved" in reply_text(now_shown)
    threads = Counter(str(reply["thread_ts"]) for reply in year.thread_replies())
    assert set(threads.values()) == {1}
    assert set(threads) <= {str(message["ts"]) for message in posted[1:]}
    ledger = await year.bot.store.ledger(
        CHANNEL, DEST, since=clock.now() - timedelta(days=DAYS * 2)
    )
    assert list(ledger.open_problems) == []

    # Flat after the window: no table holds more than one poll's inflow above its
    # count at the first poll past it, and the last count is no higher than that.
    settled = start + DEFAULT_RETENTION + LISTED_FOR + timedelta(days=2)
    after = [rows for when, rows in counts if when >= settled]
    settled_day = next(when for when, _ in counts if when >= settled) - start
    for table, first in after[0].items():
        highest = max(rows[table] for rows in after)
        assert highest - first <= INFLOW.get(table, 0), (table, first, highest)
        assert after[-1][table] <= first + INFLOW.get(table, 0), table
    # And retention did the work: without it these tables would hold every row.
    for table in ("known_backups", "alerts", "outbox"):
        assert deleted[table] > after[-1][table], (table, deleted[table])

    report(
        "A year of hourly backups, polled and purged every third day (RETENTION_DAYS=90)",
        [
            "database",
            "table",
            f"rows at day {settled_day.days}",
            "rows at day 365",
            "deleted over the year",
            "rows without retention",
        ],
        [
            [
                year.database_url.split(":")[0].split("+")[0],
                table,
                after[0][table],
                after[-1][table],
                deleted[table],
                after[-1][table] + deleted[table],
            ]
            for table in sorted(after[-1])
            if after[-1][table] or deleted[table]
        ],
    )
