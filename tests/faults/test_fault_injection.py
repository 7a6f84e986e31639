"""Fault injection: 200 poll cycles against a Northflank and a Slack that keep failing.

The whole bot runs in this process, as in tests/scenarios/: HTTP mode, a clock the
test moves, polls and delivery driven by the test. Northflank answers 20% of requests
with a 500 and, every cycle, a few queued faults on top: 429s with and without
headers, timeouts, truncated JSON, wrong types, a wrong shape and a proxy's HTML page,
some of them on a later page of a listing or on a retry. Slack answers some posts and
edits with 429s and 500s.

Meanwhile three destinations gain backups that fail, abort, complete, or hang (stuck)
and complete much later. What each channel must hear is computed from that plan
alone, never from the bot: one alert per channel watching × backup × event, and a
recovery in the stuck alert's thread when a stuck backup completes. At the end every
alert due must have been posted exactly once, nothing else posted, and nothing crashed.
"""

from __future__ import annotations

import logging
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import pytest

from bot.runtime.server import BotServer
from tests.clock import FakeClock
from tests.fakes.northflank import FakeNorthflank, FaultKind, make_backup
from tests.fakes.slack import FakeSlack
from tests.faults.conftest import POLL_INTERVAL, RETRY_POLICY, FaultyScenario
from tests.figures import report
from tests.scenarios.conftest import reply_text
from tests.slack.conftest import forget_startup_check

# One generator each for the plan, Northflank's faults and Slack's, so that the plan
# (and so the alerts due) is the same in every run, however the bot's timing varies.
SEEDS: Final = {"plan": 4, "northflank": 5, "slack": 6}
CYCLES: Final = 200
ERROR_RATE: Final = 0.2
# Clean cycles at the poll interval after the faults stop: enough for every backup still
# running to finish and be read (running backups finish within RUNNING_FOR cycles).
CLEAN_CYCLES: Final = 6
# Then jumps past Slack's longest back-off, until the outbox is empty.
SETTLE_JUMP: Final = timedelta(minutes=11)
MAX_SETTLE_CYCLES: Final = 10
TIMEOUT_DELAY: Final = 1.0  # how long the fake holds a "timeout"; the bot gives up sooner

# ----- the plan: who watches what, and what happens to which backup -----------------------

DESTINATIONS: Final = ("dest-a", "dest-b", "dest-c")
ALL_EVENTS: Final = frozenset({"failed", "aborted", "expiring", "stuck", "missed"})
# Every event this plan knows the alerts of. Not `anomaly`: a backup here runs for one
# to five cycles of a minute, against a median of seconds, which is a slow backup by
# bot.core.anomalies' rule; tests/core/test_anomalies.py and the scenarios cover that.
EVERY_PLANNED_EVENT: Final = "events=failed,aborted,expiring,stuck,missed stuck=10m"
STUCK_OPTION: Final = "stuck=10m"
ABORTED_OR_STUCK: Final = frozenset({"aborted", "stuck"})


@dataclass(frozen=True)
class WatchPlan:
    channel: str
    destination: str
    options: str
    events: frozenset[str]  # what the options ask for, written out by hand


WATCHES: Final = (
    WatchPlan("C0OPS", "dest-a", EVERY_PLANNED_EVENT, ALL_EVENTS),
    WatchPlan("C0OPS", "dest-b", "events=failed,aborted", frozenset({"failed", "aborted"})),
    WatchPlan("C0DBA", "dest-a", "events=failed", frozenset({"failed"})),
    WatchPlan("C0DBA", "dest-c", EVERY_PLANNED_EVENT, ALL_EVENTS),
    WatchPlan("C0ONCALL", "dest-b", f"events=aborted,stuck {STUCK_OPTION}", ABORTED_OR_STUCK),
    WatchPlan("C0ONCALL", "dest-c", "events=failed,aborted", frozenset({"failed", "aborted"})),
)
CHANNELS: Final = tuple(sorted({w.channel for w in WATCHES}))

# New backups per destination per cycle, and what becomes of each. A running backup
# finishes within RUNNING_FOR cycles: well under the 10 minutes that make one stuck.
NEW_PER_CYCLE: Final = (0, 1, 1, 2, 2)
NEW_KINDS: Final = (
    "failed",
    "aborted",
    "completed",
    "running-failed",
    "running-aborted",
    "running-completed",
)
NEW_KIND_WEIGHTS: Final = (3, 2, 6, 2, 1, 3)
RUNNING_FOR: Final = (1, 5)
# Stuck backups: (cycle created, cycle completed), shifted by one per destination. They
# hang long past `stuck=10m` and complete late; the first sinks to page 2 of its
# listing by cycle 80 or so, and from then on every poll pages down to it.
STUCK_LIFE: Final = ((3, 190), (40, 150), (100, 185))

Key = tuple[str, str, str]  # (channel, event, backup id)


@dataclass
class PlannedBackup:
    id: str
    destination: str
    final: str  # failed, aborted or completed
    finishes_at: int | None  # the cycle it reaches `final`; None: listed finished at once
    stuck: bool = False


class BackupPlan:
    """Adds backups to the fake and changes them; knows, by itself, which alerts are due."""

    def __init__(self, fake: FakeNorthflank, rng: random.Random) -> None:
        self._fake = fake
        self._rng = rng
        self.backups: dict[str, PlannedBackup] = {}
        self._finishing: dict[int, list[PlannedBackup]] = {}

    def add_history(self, now: datetime) -> None:
        """Backups from before the watches, failures included: history, never alerted."""
        for destination in DESTINATIONS:
            statuses = ["completed"] * 20 + ["failed", "failed", "aborted"]
            self._fake.add_backups(
                destination,
                [
                    make_backup(
                        f"old-{destination}-{i:02d}",
                        name=f"old-{destination}-{i:02d}",
                        status=status,
                        created_at=now - timedelta(hours=20 - i * 0.5),
                        addon=(f"ok-{destination}", f"ok-{destination}"),
                    )
                    for i, status in enumerate(statuses)
                ],
            )

    def step(self, cycle: int, now: datetime, *, new_backups: bool) -> None:
        finished_at = now - timedelta(seconds=10)
        for backup in self._finishing.pop(cycle, []):
            self._fake.set_backup_status(
                backup.destination, backup.id, backup.final, completed_at=finished_at
            )
        if not new_backups:
            return
        for index, destination in enumerate(DESTINATIONS):
            added = [self._new(destination, cycle, n, now) for n in range(self._how_many())]
            for created, completed in STUCK_LIFE:
                if cycle == created + index:
                    added.append(self._stuck(destination, cycle, now, completed + index))
            self._fake.add_backups(destination, added)

    def _how_many(self) -> int:
        return self._rng.choice(NEW_PER_CYCLE)

    def _new(self, destination: str, cycle: int, n: int, now: datetime) -> dict[str, Any]:
        kind = self._rng.choices(NEW_KINDS, NEW_KIND_WEIGHTS)[0]
        running, _, final = kind.rpartition("-")
        backup_id = f"bk-{destination[-1]}{cycle:03d}-{n}"
        finishes_at = cycle + self._rng.randint(*RUNNING_FOR) if running else None
        planned = PlannedBackup(backup_id, destination, final, finishes_at)
        self._remember(planned)
        addon = f"ok-{destination}" if final == "completed" else f"pg-{destination}"
        return make_backup(
            backup_id,
            name=backup_id,
            status="in-progress" if running else final,
            created_at=now - timedelta(seconds=30 + n),
            completed_at=None if running else now - timedelta(seconds=10),
            addon=(addon, addon),
        )

    def _stuck(self, destination: str, cycle: int, now: datetime, completes: int) -> dict[str, Any]:
        backup_id = f"bk-{destination[-1]}{cycle:03d}-stuck"
        self._remember(PlannedBackup(backup_id, destination, "completed", completes, stuck=True))
        # An addon of its own, so that its completion recovers exactly its stuck alert.
        addon = f"stk-{backup_id}"
        return make_backup(
            backup_id,
            name=backup_id,
            status="in-progress",
            created_at=now - timedelta(seconds=45),
            addon=(addon, addon),
        )

    def _remember(self, backup: PlannedBackup) -> None:
        self.backups[backup.id] = backup
        if backup.finishes_at is not None:
            self._finishing.setdefault(backup.finishes_at, []).append(backup)

    def last_change(self) -> int:
        return max(self._finishing, default=0)

    def alerts_due(self) -> set[Key]:
        due: set[Key] = set()
        for backup in self.backups.values():
            for watch in WATCHES:
                if watch.destination != backup.destination:
                    continue
                if backup.final in ("failed", "aborted") and backup.final in watch.events:
                    due.add((watch.channel, backup.final, backup.id))
                if backup.stuck and "stuck" in watch.events:
                    due.add((watch.channel, "stuck", backup.id))
                    # The stuck alert is this addon's only open problem in the channel.
                    due.add((watch.channel, "recovered", backup.id))
        return due


# ----- faults ------------------------------------------------------------------------------

NORTHFLANK_FAULTS: Final[tuple[FaultKind, ...]] = (
    "429",
    "429-bare",
    "timeout",
    "truncated",
    "wrong-types",
    "wrong-shape",
    "html",
)
# Timeouts cost real time (READ_TIMEOUT each), so fewer of them.
NORTHFLANK_FAULT_WEIGHTS: Final = (2, 2, 1, 2, 3, 2, 2)
QUEUED_PER_CYCLE: Final = 2
# Faults that fail a poll outright (the bot does not retry a 200 it cannot read).
POLL_BREAKING: Final = frozenset({"truncated", "wrong-shape"})
# Three failed polls in a row are a "Northflank problem" alert. This suite is about
# alerts on backups, so one destination gets at most one poll-breaking fault in any three
# cycles; three in a row would then need two 6-attempt retry chains to fail at random.
POLL_BREAKING_GAP: Final = 3
SKIPS: Final = (0, 1, 1, 2)  # so many faults land on page 2 or 3, or on a retry

SLACK_FAULT_CHANCE: Final = {"chat.postMessage": 0.3, "chat.update": 0.6}
SLACK_FAULT_KINDS: Final = ("429", "500")


class NorthflankFaults:
    def __init__(self, fake: FakeNorthflank, rng: random.Random) -> None:
        self._fake = fake
        self._rng = rng
        self._last_breaking = dict.fromkeys(DESTINATIONS, -POLL_BREAKING_GAP)

    def queue(self, cycle: int) -> None:
        # What the last cycle did not use is dropped, so every fault strikes in its cycle.
        self._fake.clear_faults()
        for _ in range(QUEUED_PER_CYCLE):
            kind = self._rng.choices(NORTHFLANK_FAULTS, NORTHFLANK_FAULT_WEIGHTS)[0]
            destination = self._rng.choice(DESTINATIONS)
            skip = self._rng.choice(SKIPS)
            if kind in POLL_BREAKING:
                if cycle - self._last_breaking[destination] < POLL_BREAKING_GAP:
                    continue
                self._last_breaking[destination] = cycle
            self._fake.fail_next(
                kind, path_contains=f"/backup-destinations/{destination}/backups", skip=skip
            )

    def stop(self) -> None:
        self._fake.error_rate = 0.0
        self._fake.clear_faults()


class SlackFaults:
    """At most one fault pending per method; counted once a call has consumed it.

    The fake's queue hands a pending fault to the very next call of its method, so
    "a call arrived since it was queued" means "it was injected".
    """

    def __init__(self, fake: FakeSlack, rng: random.Random) -> None:
        self._fake = fake
        self._rng = rng
        self._pending: dict[str, tuple[str, int]] = {}
        self.injected: Counter[str] = Counter()

    def queue(self) -> None:
        self.settle()
        for method, chance in SLACK_FAULT_CHANCE.items():
            if method in self._pending or self._rng.random() >= chance:
                continue
            kind = self._rng.choice(SLACK_FAULT_KINDS)
            self._pending[method] = (kind, len(self._fake.calls_to(method)))
            self._fake.fail_next(method, kind)

    def settle(self) -> None:
        for method, (kind, calls_before) in list(self._pending.items()):
            if len(self._fake.calls_to(method)) > calls_before:
                self.injected[f"{method} {kind}"] += 1
                del self._pending[method]


# ----- the bot -----------------------------------------------------------------------------


@dataclass
class Run:
    """What the cycles did: escaped exceptions, and polls the bot reported failed."""

    cycles: int = 0
    escaped: list[str] = field(default_factory=list)
    failed_polls: int = 0

    async def cycle(self, bot: BotServer) -> None:
        self.cycles += 1
        try:
            polled = await bot.poller.poll_all()
        except Exception as exc:  # counted and shown: the test asserts there are none
            self.escaped.append(f"cycle {self.cycles}: poll_all raised {exc!r}")
        else:
            self.failed_polls += sum(1 for d in polled.destinations if d.error)
        try:
            await bot.delivery.drain()
        except Exception as exc:
            self.escaped.append(f"cycle {self.cycles}: drain raised {exc!r}")


# ----- what Slack received -----------------------------------------------------------------

# Any alert's first line, "*Failed* · *name*" (or "· addon *name*" for a missed run,
# "· destination *name*" for a Northflank problem): so an alert of any kind that the
# plan did not expect is caught too, alone or inside a digest of expected ones.
ALERT_LINE: Final = re.compile(r"\*([A-Z][a-z ]+)\* · (?:addon |destination )?\*([^*]+)\*")
RECOVERY_LINE: Final = re.compile(
    r"\*Recovered\*: addon \*[^*]+\* has a good backup again, \*([^*]+)\*"
)


@dataclass
class Tally:
    delivered: Counter[Key] = field(default_factory=Counter)
    # Messages that carry nothing the plan expects (a Northflank problem, say).
    unexpected: list[str] = field(default_factory=list)
    # Recoveries not threaded under their stuck alert, or that alert not marked resolved.
    unresolved: list[str] = field(default_factory=list)


def sections(message: dict[str, Any]) -> list[str]:
    return [
        block["text"]["text"]
        for block in message.get("blocks", [])
        if block.get("type") == "section" and isinstance(block.get("text"), dict)
    ]


def tally(slack: FakeSlack, announcements: set[str]) -> Tally:
    found = Tally()
    for channel in CHANNELS:
        messages = [m for m in slack.posted(channel) if m["ts"] not in announcements]
        by_ts = {m["ts"]: m for m in messages}
        for message in messages:
            text = "\n".join(sections(message))
            if message.get("thread_ts"):
                names = set(RECOVERY_LINE.findall(text))
                keys = {(channel, "recovered", name) for name in names}
                for name in names:
                    check_resolved(found, channel, name, by_ts.get(message["thread_ts"]))
            else:
                lines = set(ALERT_LINE.findall(text))
                keys = {(channel, event.lower(), name) for event, name in lines}
            if not keys:
                found.unexpected.append(f"{channel}: {reply_text(message)[:200]}")
            found.delivered.update(keys)
    return found


def check_resolved(found: Tally, channel: str, name: str, parent: dict[str, Any] | None) -> None:
    stuck = f"*Stuck* · *{name}*"
    marked = parent is not None and any(
        stuck in section and "Resolved" in section for section in sections(parent)
    )
    if not marked:
        found.unresolved.append(f"{channel}: {name}")


def bot_crashes(records: Iterable[logging.LogRecord]) -> list[str]:
    """A log.exception in the bot's own code is an internal failure, handled or not."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.name.split(".")[0] == "bot" and r.levelno >= logging.ERROR and r.exc_info
    ]


# ----- the run -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    due: set[Key]
    delivered: int  # alerts due that were posted at least once
    duplicated: int  # posts beyond the first of an alert due
    lost: list[Key]
    unexpected: list[str]  # posts of anything not due
    unresolved: list[str]
    crashes: list[str]


def judge(due: set[Key], found: Tally, crashes: list[str]) -> Verdict:
    posted = found.delivered
    return Verdict(
        due=due,
        delivered=sum(1 for key in due if posted[key] >= 1),
        duplicated=sum(posted[key] - 1 for key in due if posted[key] > 1),
        lost=sorted(key for key in due if posted[key] == 0),
        unexpected=found.unexpected + [f"{k} ({n}x)" for k, n in posted.items() if k not in due],
        unresolved=found.unresolved,
        crashes=crashes,
    )


@pytest.mark.slow
async def test_200_poll_cycles_of_faults_deliver_every_alert_exactly_once(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot")
    rngs = {name: random.Random(seed) for name, seed in SEEDS.items()}
    northflank = FakeNorthflank(
        rate_limit=1_000_000,  # the budget is not under test here: no throttling
        fault_retry_after=0,  # "429": Retry-After 0, and 0 remaining until then
        timeout_delay=TIMEOUT_DELAY,
        seed=SEEDS["northflank"],
    )
    with northflank, FakeSlack() as slack:
        world = FaultyScenario(northflank, slack, FakeClock(), database_url)
        await world.start()
        try:
            await forget_startup_check(northflank)
            plan, announcements = await set_up(world, rngs["plan"])
            run = Run()
            nf_faults = NorthflankFaults(northflank, rngs["northflank"])
            slack_faults = SlackFaults(slack, rngs["slack"])
            northflank.error_rate = ERROR_RATE
            for cycle in range(1, CYCLES + 1):
                world.clock.advance(seconds=POLL_INTERVAL)
                plan.step(cycle, world.clock.now(), new_backups=True)
                nf_faults.queue(cycle)
                slack_faults.queue()
                await run.cycle(world.bot)
            injected = northflank.faults_injected()
            requests = northflank.request_count()
            nf_faults.stop()
            outbox_left = await settle(world, plan, run, slack_faults)
        finally:
            await world.stop()

    verdict = judge(
        plan.alerts_due(), tally(slack, announcements), run.escaped + bot_crashes(caplog.records)
    )
    report(
        f"Fault injection, {database_kind(database_url)}",
        ("figure", "value"),
        figure_rows(run, requests, injected, slack_faults.injected, verdict),
    )
    # The crash detector is not blind: the bot's warnings about failed polls reached it.
    assert any(r.getMessage() == "polling a destination failed" for r in caplog.records)
    assert verdict.crashes == []
    assert verdict.lost == []
    assert verdict.duplicated == 0
    assert verdict.unexpected == []
    assert verdict.unresolved == []
    assert verdict.delivered == len(verdict.due)
    assert outbox_left == 0
    # The test can only fail if the faults really happened: every kind, at least once.
    assert [kind for kind in NORTHFLANK_FAULT_NAMES if not injected.get(kind)] == []
    assert [kind for kind in SLACK_FAULT_NAMES if not slack_faults.injected[kind]] == []
    assert {event for _, event, _ in verdict.due} == {"failed", "aborted", "stuck", "recovered"}


async def set_up(world: FaultyScenario, rng: random.Random) -> tuple[BackupPlan, set[str]]:
    """Destinations with some history, and the watches; Northflank still behaves."""
    plan = BackupPlan(world.northflank, rng)
    for destination in DESTINATIONS:
        world.northflank.add_destination(destination, f"Backups {destination[-1].upper()}")
    plan.add_history(world.clock.now())
    for watch in WATCHES:
        command = f"watch {watch.destination} {watch.options}"
        reply = await world.slash(command, channel=watch.channel)
        assert "now watches" in reply, reply
    # The lines `watch` posts to say who set it up are not alerts.
    announcements = {m["ts"] for m in world.slack.posted()}
    assert len(announcements) == len(WATCHES)
    return plan, announcements


async def settle(world: FaultyScenario, plan: BackupPlan, run: Run, faults: SlackFaults) -> int:
    """Clean cycles until every backup has finished and been read, and the outbox is empty.

    Returns what is left in the outbox. Slack faults already queued still strike.
    """
    assert plan.last_change() <= CYCLES + CLEAN_CYCLES
    for cycle in range(CYCLES + 1, CYCLES + CLEAN_CYCLES + 1):
        world.clock.advance(seconds=POLL_INTERVAL)
        plan.step(cycle, world.clock.now(), new_backups=False)
        await run.cycle(world.bot)
    for _ in range(MAX_SETTLE_CYCLES):
        faults.settle()
        if await world.bot.store.outbox_depth() == 0:
            break
        world.clock.advance(SETTLE_JUMP)
        await run.cycle(world.bot)
    faults.settle()
    return await world.bot.store.outbox_depth()


def database_kind(url: str) -> str:
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


NORTHFLANK_FAULT_NAMES: Final = {
    "500": "Northflank 500 (20% of requests, at random)",
    "429": "Northflank 429 with Retry-After and x-ratelimit-*",
    "429-bare": "Northflank 429 without headers",
    "timeout": "Northflank timeout",
    "truncated": "Northflank truncated JSON",
    "wrong-types": "Northflank wrong types",
    "wrong-shape": "Northflank wrong shape",
    "html": "Northflank proxy HTML 502",
}
SLACK_FAULT_NAMES: Final = {
    f"{method} {kind}": f"Slack {method} {kind}"
    for method in SLACK_FAULT_CHANCE
    for kind in SLACK_FAULT_KINDS
}


def figure_rows(
    run: Run,
    requests: int,
    injected: dict[str, int],
    slack_injected: Counter[str],
    verdict: Verdict,
) -> list[Sequence[object]]:
    by_event = Counter(event for _, event, _ in verdict.due)
    rows: list[Sequence[object]] = [
        ("poll cycles with faults", CYCLES),
        ("clean cycles after, for retries to settle", run.cycles - CYCLES),
        ("Northflank requests during the faults", requests),
    ]
    rows += [(name, injected.get(kind, 0)) for kind, name in NORTHFLANK_FAULT_NAMES.items()]
    rows += [(name, slack_injected[kind]) for kind, name in SLACK_FAULT_NAMES.items()]
    events = " / ".join(str(by_event[e]) for e in ("failed", "aborted", "stuck", "recovered"))
    rows += [
        ("polls that failed (each tried again next cycle)", run.failed_polls),
        ("alerts due (failed / aborted / stuck / recovered)", f"{len(verdict.due)} ({events})"),
        ("delivered", verdict.delivered),
        ("duplicated", verdict.duplicated),
        ("lost", len(verdict.lost)),
        ("posted but not due", len(verdict.unexpected)),
        ("crashes", len(verdict.crashes)),
    ]
    return rows


# ----- what this suite found, each on its own ---------------------------------------------


async def test_a_page_of_unreadable_backups_does_not_make_the_poller_forget_them(
    faulty: FaultyScenario,
) -> None:
    """A wrong-typed page hides its backups; it does not mean they were deleted.

    The poller forgets unfinished backups a full read no longer meets, so that it stops
    paging down to deleted ones. Meeting them unreadable is not "no longer listed": if
    the poller forgot one deep in the listing, it would never read it again, and its
    failure would never be alerted.
    """
    nf, now = faulty.northflank, faulty.clock.now()
    nf.add_destination("deep", "Deep")
    nf.add_backups(
        "deep",
        [
            make_backup(f"done-{i:03d}", created_at=now - timedelta(hours=1, minutes=i))
            for i in range(150)
        ],
    )
    await faulty.slash("watch deep")
    nf.add_backups("deep", [make_backup("slow", name="slow", status="in-progress", created_at=now)])
    # 120 newer backups push the unfinished one to page 2, where each poll follows it.
    faulty.clock.advance(minutes=1)
    later = faulty.clock.now()
    nf.add_backups(
        "deep",
        [
            make_backup(f"new-{i:03d}", created_at=later - timedelta(seconds=i / 10))
            for i in range(120)
        ],
    )
    await faulty.poll()
    nf.fail_next("wrong-types", path_contains="/backups", skip=1)  # page 2, this time
    faulty.clock.advance(minutes=1)
    await faulty.poll()
    assert nf.faults_injected() == {"wrong-types": 1}

    nf.set_backup_status("deep", "slow", "failed", completed_at=faulty.clock.now())
    for _ in range(2):
        faulty.clock.advance(minutes=1)
        await faulty.poll()
    alerts = [reply_text(m) for m in faulty.alerts_posted() if "*Failed* · *slow*" in reply_text(m)]
    assert len(alerts) == 1


async def test_polling_resumes_once_a_spent_rate_limit_window_has_reset(
    faulty: FaultyScenario,
) -> None:
    """A 429 saying "0 remaining, resets in 0 s" must not stop polling for good.

    A poll held back for want of budget sends no request, so no response can update the
    budget: if the reading outlived its window, every later poll was held back too.
    """
    nf = faulty.northflank
    nf.add_destination("dest-1", "Nightly")
    await faulty.slash("watch dest-1")
    nf.fault_retry_after = 0
    nf.fail_next("429", times=RETRY_POLICY.attempts, path_contains="/backups")
    faulty.clock.advance(minutes=1)
    refused = await faulty.poll()
    assert refused.destinations[0].error is not None
    assert faulty.bot.northflank.rate_limit.remaining == 0

    nf.add_backups(
        "dest-1", [make_backup("b1", name="b1", status="failed", created_at=faulty.clock.now())]
    )
    faulty.clock.advance(minutes=1)
    polled = await faulty.poll()
    assert polled.skipped == [] and polled.requests == 1
    assert any("*Failed* · *b1*" in reply_text(m) for m in faulty.alerts_posted())
