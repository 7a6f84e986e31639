"""The buttons on alerts: how fast each press is acked, and how long until it shows.

    .venv/bin/python -m bench.button_latency [--alerts 50] [--small 5] [--wait-for-all]

Slack wants every button press acked within 3 s. The bot runs as a real process
in HTTP mode (`python -m bot run`: SQLite, BOT_ADMINS set, the production pacing
of one message a second per channel); the fake Northflank and Slack run in a
second process (this module with --serve-fakes), so they do not share this
process's GIL with the load generator; a bare Bolt app that acks the same
presses at once (bench/floor_app.py) is the floor. This process only
sends signed presses and times each until its HTTP response (the ack).

One channel watches a destination where `--alerts` addons each have a backup
that failed after the watch began. The bot's first poll posts them (several
alerts to a message, each with its own buttons); then, each burst sent
concurrently as soon as the previous one is acked: Acknowledge on every alert,
the same again (a double click), Snooze for 1 hour, Start backup by the admin,
and Start backup again. The floor app gets the same presses before those, and
again a few seconds after.

Time to effect is from sending a press until the fake Slack records its
effect: for Acknowledge, the first chat.update of the alert's message showing
it acknowledged; for Start backup, the thread reply under it. Both clocks are
time.monotonic(), one system-wide clock for all processes on Linux. Each channel's
messages and edits go out one a second, in order, so 50 presses in one channel
are spread over about 50 s; a second, smaller run (`--small` alerts, its own
bot) shows the same presses when only a few are queued. Start backup's thread
replies in the big run wait behind every edit queued before them (Acknowledge
and Snooze each queue one), so they are measured only with --wait-for-all
(about 2 more minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.ack_latency import percentile, process, wait_healthy
from bot.slack.render.alert_buttons import (
    ACKNOWLEDGE_ACTION,
    SNOOZE_ACTION,
    START_BACKUP_ACTION,
)
from bot.store import Store
from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.processes import REPO, bot_env, clean_env, free_port, wait_for_health, watched_since
from tests.slack.requests import button_body, sign

CHANNEL = "C0ALERTS"  # the channel tests.processes.watched_since sets up
ADMIN = "U0ADMIN"
ON_CALL = "U0ONCALL"  # Acknowledge and Snooze are open to anyone in the channel
ADDON_NAME = re.compile(r"pg-\d{3}")
# Presses on alert ids that do not exist: answered "can't find that alert", nothing changes.
WARM_UP_IDS = range(900_001, 900_051)
ALERTS_TIMEOUT = 60.0
SNAPSHOT_EVERY = 1.0
FLOOR_AGAIN_AFTER = 3.0


@dataclass(frozen=True)
class Kind:
    """One burst: which button, pressed by whom."""

    label: str
    action_id: str
    user: str
    snooze: str | None = None  # the option chosen, for the Snooze menu


ACKNOWLEDGE = Kind("Acknowledge", ACKNOWLEDGE_ACTION, ON_CALL)
ACKNOWLEDGE_AGAIN = Kind("Acknowledge again (double click)", ACKNOWLEDGE_ACTION, ON_CALL)
SNOOZE = Kind("Snooze 1 hour", SNOOZE_ACTION, ON_CALL, snooze="1h")
START = Kind("Start backup (admin)", START_BACKUP_ACTION, ADMIN)
START_AGAIN = Kind("Start backup again (double click)", START_BACKUP_ACTION, ADMIN)
BURSTS = (ACKNOWLEDGE, ACKNOWLEDGE_AGAIN, SNOOZE, START, START_AGAIN)


# ----- the fakes, in a process of their own ------------------------------------------------


def serve_fakes(alerts: int) -> None:
    """Run the fakes; print their URLs; answer each `snapshot` line on stdin with one JSON line.

    The destination has `alerts` failed backups, each of its own addon, made ten
    minutes ago: after the watch began (an hour ago), so the first poll posts them.
    """
    made = datetime.now(UTC) - timedelta(minutes=10)
    with FakeNorthflank(rate_limit=10**9) as northflank, FakeSlack() as slack:
        northflank.add_destination("dest-1", "Primary")
        northflank.add_backups(
            "dest-1",
            [
                make_backup(
                    f"b{i:03d}",
                    name=f"nightly-{i:03d}",
                    status="failed",
                    created_at=made,
                    completed_at=made + timedelta(minutes=1),
                    addon=(f"addon-{i:03d}", f"pg-{i:03d}"),
                )
                for i in range(1, alerts + 1)
            ],
        )
        print(json.dumps({"northflank": northflank.url, "slack": slack.url}), flush=True)
        for line in sys.stdin:
            if line.strip() == "snapshot":
                print(json.dumps(_snapshot(northflank, slack)), flush=True)


def _snapshot(northflank: FakeNorthflank, slack: FakeSlack) -> dict[str, Any]:
    """What the fakes saw, boiled down to what the benchmark reads (small enough to send often)."""
    messages = []
    for call in slack.calls:
        if call.method not in ("chat.postMessage", "chat.update"):
            continue
        answer = call.answer or {}
        if not answer.get("ok"):
            continue
        params = call.params
        update = call.method == "chat.update"
        messages.append(
            {
                "update": update,
                "channel": params.get("channel"),
                "ts": params.get("ts") if update else answer.get("ts"),
                "thread_ts": params.get("thread_ts"),
                "at": call.at,
                "text": str(params.get("text", "")),
                "alerts": _alerts_in(params.get("blocks")),
            }
        )
    return {
        "messages": messages,
        "responses": [
            {"key": r.key, "at": r.at, "text": json.dumps(r.payload)} for r in slack.responses
        ],
        "writes": [{"action": w.action, "addon": w.addon_id} for w in northflank.writes],
    }


def _alerts_in(blocks: Any) -> dict[str, dict[str, Any]]:
    """Per alert id: the buttons its actions block shows, and its addon's name."""
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    found: dict[str, dict[str, Any]] = {}
    section = ""
    for block in blocks if isinstance(blocks, list) else []:
        if block.get("type") == "section":
            section = json.dumps(block)
        block_id = str(block.get("block_id", ""))
        if block.get("type") == "actions" and block_id.startswith("alert_actions:"):
            addon = ADDON_NAME.search(section + json.dumps(block))
            found[block_id.removeprefix("alert_actions:")] = {
                "actions": [element.get("action_id") for element in block.get("elements", [])],
                "addon": addon.group(0) if addon else None,
            }
    return found


# ----- reading the fakes from here ----------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """A message or edit the fake Slack accepted."""

    update: bool
    channel: str
    ts: str
    thread_ts: str | None
    at: float
    text: str
    alerts: dict[int, tuple[list[str], str | None]]  # alert id -> (buttons, addon name)


@dataclass(frozen=True)
class Snapshot:
    messages: list[Seen]
    responses: dict[str, tuple[float, str]]  # response_url key -> (arrived, payload as JSON)
    writes: list[tuple[str, str]]  # (action, addon id)

    @property
    def posts(self) -> list[Seen]:
        return [m for m in self.messages if not m.update]

    @property
    def edits(self) -> list[Seen]:
        return [m for m in self.messages if m.update]


@dataclass(frozen=True)
class Alert:
    id: int
    ts: str  # its message's
    addon: str


class Fakes:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdin is not None and proc.stdout is not None
        self._stdin, self._stdout = proc.stdin, proc.stdout
        urls = json.loads(self._stdout.readline())
        self.slack_url: str = urls["slack"]
        self.northflank_url: str = urls["northflank"]

    def snapshot(self) -> Snapshot:
        self._stdin.write("snapshot\n")
        self._stdin.flush()
        raw = json.loads(self._stdout.readline())
        return Snapshot(
            messages=[
                Seen(
                    update=m["update"],
                    channel=m["channel"],
                    ts=m["ts"],
                    thread_ts=m["thread_ts"],
                    at=m["at"],
                    text=m["text"],
                    alerts={
                        int(k): (list(v["actions"]), v["addon"]) for k, v in m["alerts"].items()
                    },
                )
                for m in raw["messages"]
            ],
            responses={r["key"]: (r["at"], r["text"]) for r in raw["responses"]},
            writes=[(w["action"], w["addon"]) for w in raw["writes"]],
        )


# ----- pressing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Press:
    kind: Kind
    alert: Alert
    key: str  # its response_url's, for the ephemeral reply if any
    sent: float  # time.monotonic()
    ack_seconds: float
    ack_body: str


def press_body(kind: Kind, alert: Alert, response_url: str) -> str:
    value = str(alert.id)
    return button_body(
        kind.action_id,
        value,
        response_url,
        user=kind.user,
        channel=CHANNEL,
        message_ts=alert.ts,
        block_id=f"alert_actions:{value}",
        selected_option=f"{value}:{kind.snooze}" if kind.snooze else None,
    )


async def burst(
    http: httpx.AsyncClient, url: str, slack_url: str, kind: Kind, alerts: Sequence[Alert], tag: str
) -> list[Press]:
    """Every alert's button pressed at once; each timed until its ack."""

    async def one(alert: Alert) -> Press:
        key = f"{tag}-{re.sub(r'[^a-z]+', '-', kind.label.lower())}-{alert.id}"
        body = press_body(kind, alert, f"{slack_url}/response/{key}")
        headers = sign(body)
        sent = time.monotonic()
        response = await http.post(url, content=body, headers=headers)
        elapsed = time.monotonic() - sent
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code} to {kind.label}")
        return Press(kind, alert, key, sent, elapsed, response.text)

    return list(await asyncio.gather(*(one(alert) for alert in alerts)))


# ----- one bot, one channel, its alerts -----------------------------------------------------


@dataclass
class Run:
    """What one bot process did with one channel's alerts."""

    alerts: list[Alert] = field(default_factory=list)
    messages_at_start: int = 0  # the messages the alerts were posted in
    presses: list[Press] = field(default_factory=list)
    floor: list[Press] = field(default_factory=list)
    snapshot: Snapshot | None = None
    # Read from the bot's database once it has stopped.
    audit: Counter[tuple[str, str]] = field(default_factory=Counter)  # (action, outcome)
    still_queued: int = 0

    def of(self, kind: Kind) -> list[Press]:
        return [p for p in self.presses if p.kind is kind]


@dataclass
class World:
    """A running bot and its fakes, the channel watching the destination since an hour ago."""

    fakes: Fakes
    url: str  # the bot's /slack/events
    env: dict[str, str]
    run: Run


@asynccontextmanager
async def bot_world(alerts: int) -> AsyncIterator[World]:
    """Fakes with `alerts` failed backups, and the bot; its audit read back once it stopped.

    The bot's database and log go to a temporary directory, removed after a
    good run and named on stderr after a failed one.
    """
    workdir = Path(tempfile.mkdtemp(prefix="button-latency-"))
    database_url = f"sqlite:///{workdir}/bot.db"
    try:
        await watched_since(database_url, datetime.now(UTC) - timedelta(hours=1))
        fakes_args = ["-m", "bench.button_latency", "--serve-fakes", str(alerts)]
        with process(fakes_args, clean_env()) as fakes_process:
            fakes = Fakes(fakes_process)
            port = free_port()
            env = bot_env(
                northflank_url=fakes.northflank_url,
                slack_api_url=fakes.slack_url + "/api/",
                port=port,
                DATABASE_URL=database_url,
                BOT_ADMINS=ADMIN,
            )
            world = World(fakes, f"http://127.0.0.1:{port}/slack/events", env, Run())
            with bot_process(env, workdir / "bot.log") as bot:
                await asyncio.to_thread(wait_for_health, port, bot)
                world.run.alerts, world.run.messages_at_start = await alerts_posted(fakes, alerts)
                yield world
            world.run.audit, world.run.still_queued = await audit_and_queue(database_url)
    except BaseException:
        print(f"backup-bot's log and database: {workdir}", file=sys.stderr)
        raise
    shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def bot_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[str]]:
    """`python -m bot run`, its log in a file (a pipe nobody reads would fill and stall it)."""
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
            text=True,
        )
        try:
            yield proc
        finally:
            proc.terminate()  # SIGTERM: a graceful stop, so the audit rows are all in
            proc.wait(timeout=30)


async def alerts_posted(fakes: Fakes, count: int) -> tuple[list[Alert], int]:
    """The alerts the first poll posted, once all `count` are in the channel; and the messages."""
    deadline = time.monotonic() + ALERTS_TIMEOUT
    alerts: list[Alert] = []
    while time.monotonic() < deadline:
        posts = [m for m in fakes.snapshot().posts if m.channel == CHANNEL and not m.thread_ts]
        alerts = [
            Alert(alert_id, post.ts, addon or "?")
            for post in posts
            for alert_id, (_, addon) in post.alerts.items()
        ]
        if len(alerts) >= count:
            return sorted(alerts, key=lambda a: a.id), len(posts)
        await asyncio.sleep(0.5)
    raise SystemExit(f"only {len(alerts)} of {count} alerts were posted within {ALERTS_TIMEOUT} s")


Effects = Callable[[Snapshot, list[Press]], list[float]]


async def wait_for_effects(
    fakes: Fakes, want: int, effects: Effects, presses: list[Press], *, within: float
) -> Snapshot:
    """Snapshots until `effects(snapshot, presses)` finds `want` effects, or `within` s passed."""
    deadline = time.monotonic() + within
    while True:
        snapshot = fakes.snapshot()
        if len(effects(snapshot, presses)) >= want or time.monotonic() > deadline:
            return snapshot
        await asyncio.sleep(SNAPSHOT_EVERY)


def acknowledged_after(snapshot: Snapshot, presses: list[Press]) -> list[float]:
    """Per acknowledged alert: from its press to the first edit of its message showing it."""
    delays = []
    for press in presses:
        shown = [
            edit.at
            for edit in snapshot.edits
            if edit.ts == press.alert.ts
            and edit.at >= press.sent
            and press.alert.id in edit.alerts
            and ACKNOWLEDGE_ACTION not in edit.alerts[press.alert.id][0]
        ]
        if shown:
            delays.append(min(shown) - press.sent)
    return delays


def edits_made(snapshot: Snapshot, presses: list[Press]) -> list[float]:
    """When each chat.update since the first press arrived (one per Acknowledge or Snooze)."""
    first = min((press.sent for press in presses), default=0.0)
    return [edit.at for edit in snapshot.edits if edit.at >= first]


def started_after(snapshot: Snapshot, presses: list[Press]) -> list[float]:
    """Per Start backup press: from the press to the thread reply naming its addon."""
    delays = []
    for press in presses:
        replies = [
            post.at
            for post in snapshot.posts
            if post.thread_ts == press.alert.ts
            and post.at >= press.sent
            and press.alert.addon in post.text
            and "started" in post.text
        ]
        if replies:
            delays.append(min(replies) - press.sent)
    return delays


async def audit_and_queue(database_url: str) -> tuple[Counter[tuple[str, str]], int]:
    """The channel's audit rows by (action, outcome), and the outbox rows left undelivered."""
    store = Store.connect(database_url)
    try:
        entries = await store.audit_entries(CHANNEL, limit=100_000)
        queued = await store.outbox_depth()
    finally:
        await store.close()
    return Counter((e.action.value, e.outcome.value) for e in entries), queued


async def big_run(alerts: int, wait_for_all: bool) -> Run:
    """Parts 1 and 3, and Acknowledge's time to effect with every alert pressed at once."""
    async with bot_world(alerts) as world:
        run, fakes, slack_url = world.run, world.fakes, world.fakes.slack_url
        floor_port = free_port()
        floor_url = f"http://127.0.0.1:{floor_port}/slack/events"
        floor_args = ["-m", "bench.floor_app"]
        with process(floor_args, {**world.env, "PORT": str(floor_port)}):
            await wait_healthy(floor_url)
            limits = httpx.Limits(max_connections=max(alerts, len(WARM_UP_IDS)))
            async with httpx.AsyncClient(limits=limits, timeout=30) as http:
                unknown = [Alert(i, "1.1", "?") for i in WARM_UP_IDS]
                for url in (world.url, floor_url):  # warm-up: auth.test, imports, connections
                    await burst(http, url, slack_url, ACKNOWLEDGE, unknown, "warm")
                for kind in BURSTS:
                    run.floor += await burst(http, floor_url, slack_url, kind, run.alerts, "fl1")
                for kind in BURSTS:  # back to back: each while the last one's work goes on
                    run.presses += await burst(http, world.url, slack_url, kind, run.alerts, "bot")
                # The floor again, once the bot is past its bursts: the machine may drift.
                await asyncio.sleep(FLOOR_AGAIN_AFTER)
                for kind in BURSTS:
                    run.floor += await burst(http, floor_url, slack_url, kind, run.alerts, "fl2")
        await wait_for_effects(
            fakes, alerts, acknowledged_after, run.of(ACKNOWLEDGE), within=alerts * 1.5 + 20
        )
        if wait_for_all:
            await wait_for_effects(
                fakes, alerts, started_after, run.of(START), within=alerts * 3.5 + 30
            )
        await asyncio.sleep(2)  # the last ephemeral replies
        run.snapshot = fakes.snapshot()
    return run


async def small_run(alerts: int) -> Run:
    """Time to effect with only a few presses queued: a bot of its own, with `alerts` alerts."""
    async with bot_world(alerts) as world:
        run, fakes, slack_url = world.run, world.fakes, world.fakes.slack_url
        async with httpx.AsyncClient(timeout=30) as http:
            unknown = [Alert(WARM_UP_IDS[0], "1.1", "?")]
            await burst(http, world.url, slack_url, ACKNOWLEDGE, unknown, "warm")
            # The alerts' own posts were paced too: press once the channel is free again.
            await asyncio.sleep(1.5)
            run.presses += await burst(http, world.url, slack_url, ACKNOWLEDGE, run.alerts, "s")
            # Every edit the presses queued, not only the first of each message: Start
            # backup's thread replies would otherwise wait behind the rest.
            await wait_for_effects(
                fakes, alerts, edits_made, run.of(ACKNOWLEDGE), within=alerts * 3 + 10
            )
            await asyncio.sleep(1.5)
            run.presses += await burst(http, world.url, slack_url, START, run.alerts, "s")
            run.snapshot = await wait_for_effects(
                fakes, alerts, started_after, run.of(START), within=alerts * 3 + 10
            )
    return run


# ----- report --------------------------------------------------------------------------------


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def print_acks(run: Run, alerts: int) -> None:
    floor_p99 = percentile([p.ack_seconds for p in run.floor], 0.99)
    print(
        f"\n### 1. Ack latency: {alerts} alerts in one channel, each burst of {alerts} "
        "concurrent signed presses\n"
    )
    print("The bot as a real process in HTTP mode (SQLite); the floor a bare Bolt app acking")
    print("the same presses at once, in the same run. Slack's limit is 3 s.\n")
    print("| presses | count | p50 | p99 | max | p99 / floor p99 |")
    print("|---|---|---|---|---|---|")
    rows = [(f"floor: bare Bolt app, the {len(BURSTS)} bursts below, twice", run.floor)]
    rows += [(kind.label, run.of(kind)) for kind in BURSTS]
    rows.append(("backup-bot, all presses", run.presses))
    for label, presses in rows:
        values = [p.ack_seconds for p in presses]
        p99 = percentile(values, 0.99)
        print(
            f"| {label} | {len(values)} | {ms(percentile(values, 0.5))} | {ms(p99)} "
            f"| {ms(max(values))} | {p99 / floor_p99:.2f}x |"
        )
    if round(0.99 * (alerts - 1)) == alerts - 1:
        print(f"\nOf {alerts} samples, the p99 is the largest.")


def effect_row(label: str, delays: list[float], pressed: int) -> str:
    if not delays:
        return f"| {label} | {pressed} | 0 | - | - | - |"
    return (
        f"| {label} | {pressed} | {len(delays)} | {s(min(delays))} "
        f"| {s(percentile(delays, 0.5))} | {s(max(delays))} |"
    )


def print_effects(big: Run, small: Run, wait_for_all: bool) -> None:
    assert big.snapshot is not None and small.snapshot is not None
    print("\n### 2. Time to effect: from the press until Slack shows it\n")
    print("Acknowledge: the first chat.update of the alert's message without its Acknowledge")
    print("button. Start backup: the thread reply under the alert. The bot posts and edits one")
    print("message a second per channel, in order; each Acknowledge or Snooze queues an edit of")
    print("its alert's whole message, and one edit shows every change queued before it.\n")
    print("| presses, all at once | pressed | shown | first | p50 | max |")
    print("|---|---|---|---|---|---|")
    n, k = len(big.alerts), len(small.alerts)
    print(
        effect_row(
            f"Acknowledge, {plural(n, 'alert')} in {plural(big.messages_at_start, 'message')}",
            acknowledged_after(big.snapshot, big.of(ACKNOWLEDGE)),
            n,
        )
    )
    if wait_for_all:
        print(
            effect_row(
                f"Start backup, {n}, after the {2 * n} edits Acknowledge and Snooze queued",
                started_after(big.snapshot, big.of(START)),
                n,
            )
        )
    print(
        effect_row(
            f"Acknowledge, {plural(k, 'alert')} in {plural(small.messages_at_start, 'message')} "
            "(a bot of its own)",
            acknowledged_after(small.snapshot, small.of(ACKNOWLEDGE)),
            k,
        )
    )
    print(
        effect_row(
            f"Start backup, the same {k} (after those edits went out)",
            started_after(small.snapshot, small.of(START)),
            k,
        )
    )
    if not wait_for_all:
        replies = len(started_after(big.snapshot, big.of(START)))
        print(
            f"\nIn the {n}-alert run, {replies} of {n} Start backup thread replies were posted "
            f"before it stopped: they queue behind the edits that Acknowledge and Snooze queued "
            "first, and each is a new message, posted at one a second in the channel "
            "(--wait-for-all waits for them)."
        )


def print_counters(run: Run) -> None:
    assert run.snapshot is not None
    snapshot = run.snapshot
    n = len(run.alerts)
    starts = sum(1 for action, _ in snapshot.writes if action == "start")
    started_addons = len({addon for action, addon in snapshot.writes if action == "start"})

    def replies(kinds: Sequence[Kind], *words: str) -> int:
        keys = {p.key for p in run.presses if p.kind in kinds}
        return sum(
            1
            for key, (_, text) in snapshot.responses.items()
            if key in keys and any(word in text for word in words)
        )

    busy = sum(1 for p in run.presses if p.ack_body.strip())
    expected_audit = {("acknowledge", "done"), ("snooze", "done"), ("start-backup", "done")}
    other_audit = sum(count for key, count in run.audit.items() if key not in expected_audit)
    thread_replies = sum(1 for post in snapshot.posts if post.thread_ts)
    acks = (ACKNOWLEDGE, ACKNOWLEDGE_AGAIN)
    start_presses = (START, START_AGAIN)
    rows: list[tuple[str, int, str]] = [
        ("presses sent to the bot", len(run.presses), str(len(BURSTS) * n)),
        ("acks with a body (busy or an error in the ack)", busy, "0"),
        ("Northflank start-backup writes received (not one per press)", starts, str(n)),
        ("  of distinct addons", started_addons, str(n)),
        ("Northflank writes of any other kind", len(snapshot.writes) - starts, "0"),
        ("audit rows: acknowledge, done", run.audit[("acknowledge", "done")], str(n)),
        ("audit rows: snooze, done", run.audit[("snooze", "done")], str(n)),
        ("audit rows: start-backup, done", run.audit[("start-backup", "done")], str(n)),
        ("audit rows: any other", other_audit, "0"),
        (
            "Acknowledge double clicks answered 'already acknowledged'",
            replies(acks, "already acknowledged"),
            str(n),
        ),
        ("Snoozes answered 'Snoozed ... until'", replies((SNOOZE,), "Snoozed"), str(n)),
        (
            "Start backup double clicks answered 'under way' / 'already did'",
            replies(start_presses, "under way", "already did"),
            str(n),
        ),
        ("alert messages edited (chat.update calls)", len(snapshot.edits), "-"),
        ("thread replies posted before the bot stopped", thread_replies, "-"),
        ("outbox rows still queued when the bot stopped", run.still_queued, "-"),
    ]
    print(f"\n### 3. Correctness, the {n}-alert run\n")
    print("| counter | measured | expected |")
    print("|---|---|---|")
    for label, measured, expected in rows:
        flag = "" if expected in ("-", str(measured)) else " **differs**"
        print(f"| {label} | {measured} | {expected}{flag} |")


async def measure(args: argparse.Namespace) -> None:
    started = time.monotonic()
    big = await big_run(args.alerts, args.wait_for_all)
    small = await small_run(args.small)
    print(f"button latency (backup-bot), run took {time.monotonic() - started:.0f} s")
    print_acks(big, args.alerts)
    print_effects(big, small, args.wait_for_all)
    print_counters(big)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--alerts", type=int, default=50, help="alerts (and presses a burst)")
    parser.add_argument("--small", type=int, default=5, help="alerts in the small run")
    parser.add_argument(
        "--wait-for-all",
        action="store_true",
        help="also wait for the big run's Start backup thread replies (about 2 more minutes)",
    )
    # Internal: the two helper processes this benchmark starts.
    parser.add_argument("--serve-fakes", type=int, metavar="ALERTS", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fakes is not None:
        serve_fakes(args.serve_fakes)
    else:
        if not 1 <= args.alerts <= 999 or not 1 <= args.small <= 999:
            parser.error("--alerts and --small take 1 to 999")
        asyncio.run(measure(args))


if __name__ == "__main__":
    main()
