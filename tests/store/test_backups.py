"""What the store knows of backups: saving pages, per-addon summaries, and the views on them."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.engine.default import CACHE_HIT
from sqlalchemy.exc import StatementError

from bot.core.anomalies import RECENT_KEPT
from bot.core.backups import Backup
from bot.core.destination_state import AddonState, KnownBackup
from bot.store import SaveResult, Store
from tests.databases import executed_statements
from tests.store.examples import DAILY, DAY, HOUR, HOURLY, T0, backup

DEST = "dest-primary"
LOOKBACK = 7 * DAY
HORIZON = 3 * DAY


async def status_since(store: Store, backup_id: str) -> datetime | None:
    """When the stored backup entered its status, as destination_state reports it."""
    state = await store.destination_state(DEST, T0, lookback=1000 * DAY, horizon=1000 * DAY)
    return {known.backup.id: known.status_since for known in state.backups}.get(backup_id)


async def addon(store: Store, addon_id: str = "addon-db") -> AddonState:
    state = await store.destination_state(DEST, T0, lookback=DAY, horizon=DAY)
    (found,) = [a for a in state.addons if a.addon.id == addon_id]
    return found


# ----- saving pages ---------------------------------------------------------------------


async def row_versions(store: Store) -> dict[str, str]:
    """Each stored backup's row version on PostgreSQL (xmin: new on every write)."""
    async with store.engine.connect() as connection:
        found = await connection.execute(text("SELECT backup_id, xmin::text FROM known_backups"))
        return dict(found.tuples().all())


async def test_saving_counts_new_and_changed_backups(store: Store) -> None:
    first = await store.save_backups(
        DEST, [backup("b1", "in-progress"), backup("b2", "completed")], T0
    )
    assert first == SaveResult(new=2, changed=0)
    second = await store.save_backups(
        DEST,
        [backup("b1", "completed"), backup("b2", "completed"), backup("b3", "scheduled")],
        T0 + HOUR,
    )
    assert second == SaveResult(new=1, changed=1)
    assert await store.known_statuses(DEST, ["b1", "b2", "b3", "b4"]) == {
        "b1": "completed",
        "b2": "completed",
        "b3": "scheduled",
    }


async def test_a_page_is_compared_with_its_own_stored_rows_only(store: Store) -> None:
    # Stored rows are looked up by the page's span of createdAt: one stored inside
    # that span but not on the page (deleted since, or on another page) is no part
    # of the page's counts; one outside it but on the page is still found.
    hours = [backup(f"b{i}", "completed", created_at=T0 - i * HOUR) for i in range(5)]
    await store.save_backups(DEST, hours, T0)
    other = await store.save_backups("dest-other", [backup("b2", "failed")], T0)
    assert other == SaveResult(new=1, changed=0)
    again = await store.save_backups(
        DEST, [backup("b1", "failed", created_at=T0 - HOUR), hours[3], hours[4]], T0 + HOUR
    )
    assert again == SaveResult(new=0, changed=1)
    assert again.known_before == {"b1": "completed", "b3": "completed", "b4": "completed"}
    assert again.written == 1


async def test_known_statuses_are_per_destination(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "failed")], T0)
    assert await store.known_statuses("dest-other", ["b1"]) == {}
    assert await store.known_statuses(DEST, []) == {}


async def test_an_empty_page_or_a_repeated_backup_is_fine(store: Store) -> None:
    assert await store.save_backups(DEST, [], T0) == SaveResult(new=0, changed=0)
    twice = [backup("b1", "failed"), backup("b1", "failed")]
    assert await store.save_backups(DEST, twice, T0) == SaveResult(new=1, changed=0)


async def test_a_new_finished_backup_has_been_in_its_status_since_it_completed(
    store: Store,
) -> None:
    completed = backup("b1", "failed", created_at=T0 - DAY, completed_at=T0 - DAY + HOUR)
    no_completion = backup("b2", "aborted", created_at=T0 - 2 * DAY)
    await store.save_backups(DEST, [completed, no_completion], T0)
    assert await status_since(store, "b1") == T0 - DAY + HOUR
    assert await status_since(store, "b2") == T0 - 2 * DAY


async def test_a_new_unfinished_backup_has_been_in_its_status_since_it_was_created(
    store: Store,
) -> None:
    await store.save_backups(DEST, [backup("b1", "in-progress", created_at=T0 - HOUR)], T0)
    assert await status_since(store, "b1") == T0 - HOUR


async def test_a_changed_status_dates_from_the_poll_that_saw_it(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "in-progress", created_at=T0 - HOUR)], T0)
    finished = backup("b1", "failed", created_at=T0 - HOUR, completed_at=T0 - HOUR / 2)
    await store.save_backups(DEST, [finished], T0 + HOUR)
    assert await status_since(store, "b1") == T0 + HOUR


async def test_an_unchanged_status_keeps_its_date(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "in-progress", created_at=T0 - HOUR)], T0)
    await store.save_backups(DEST, [backup("b1", "in-progress", created_at=T0 - HOUR)], T0 + DAY)
    assert await status_since(store, "b1") == T0 - HOUR


async def test_everything_else_is_refreshed(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "in-progress", size_bytes=None)], T0)
    refreshed = backup(
        "b1",
        "completed",
        name="nightly",
        completed_at=T0 + HOUR,
        expires_at=T0 + DAY,
        size_bytes=5 * 2**40,  # beyond 32 bits
        schedules=(DAILY,),
    )
    await store.save_backups(DEST, [refreshed], T0 + HOUR)
    state = await store.destination_state(DEST, T0 + HOUR, lookback=DAY, horizon=DAY)
    assert [known.backup for known in state.backups] == [refreshed]


async def test_saving_a_page_takes_a_handful_of_statements(store: Store) -> None:
    page = [
        backup(f"b{i}", "completed", created_at=T0 - i * HOUR, addon=f"addon-{i % 5}")
        for i in range(100)
    ]
    with executed_statements() as statements:
        await store.save_backups(DEST, page, T0)
        await store.save_backups(DEST, page, T0 + HOUR)
    touching = [s for s in statements if "known_backups" in s or "addons" in s]
    # Per save: the stored statuses, the upsert of the backups, the addons' kept
    # completed runs, and the upsert of the addons.
    assert 0 < len(touching) <= 2 * 4


async def test_the_upserts_are_compiled_once_and_then_found_in_the_cache(store: Store) -> None:
    # SQLAlchemy 2.0 compiles a dialect's INSERT ... ON CONFLICT anew on every call
    # (it cannot cache one); the store renders its upserts once.
    def page(start: int) -> list[Backup]:
        return [
            backup(f"b{i}", "completed", created_at=T0 - i * HOUR, addon=f"addon-{i % 3}")
            for i in range(start, start + 20)
        ]

    inserts: list[tuple[str, Any]] = []

    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: Any
    ) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append((statement.split("(")[0].strip(), context.cache_hit))

    await store.save_backups(DEST, page(0), T0)
    event.listen(Engine, "after_cursor_execute", record)
    try:
        await store.save_backups(DEST, page(20), T0 + HOUR)
    finally:
        event.remove(Engine, "after_cursor_execute", record)
    assert [table for table, _ in inserts] == ["INSERT INTO known_backups", "INSERT INTO addons"]
    assert [hit for _, hit in inserts] == [CACHE_HIT, CACHE_HIT]
    assert len(await store.known_statuses(DEST, [f"b{i}" for i in range(40)])) == 40


async def test_a_page_saved_again_unchanged_writes_no_backup_and_a_changed_one_is_written(
    store: Store,
) -> None:
    # A steady poll re-reads a page the store holds as it is: rewriting each of its
    # rows every poll is work for nothing. Every column a listing sets counts.
    page = [
        backup(
            f"b{i}",
            "completed",
            created_at=T0 - i * HOUR,
            completed_at=T0 - i * HOUR + HOUR / 2,
            expires_at=T0 + 7 * DAY,
            schedules=(DAILY, HOURLY),
        )
        for i in range(10)
    ]
    await store.save_backups(DEST, page, T0)
    with executed_statements() as statements:
        again = await store.save_backups(DEST, page, T0 + HOUR)
    assert not [s for s in statements if s.lstrip().startswith("INSERT INTO known_backups")]
    assert (again.new, again.changed) == (0, 0)

    retained = dataclasses.replace(page[3], expires_at=None)
    renamed = dataclasses.replace(page[5], name="renamed")
    postgresql = store.engine.dialect.name == "postgresql"
    versions = await row_versions(store) if postgresql else {}
    with executed_statements() as statements:
        saved = await store.save_backups(DEST, [retained, renamed, *page[6:]], T0 + 2 * HOUR)
    upserts = [s for s in statements if s.lstrip().startswith("INSERT INTO known_backups")]
    assert len(upserts) == 1  # the two changed rows, in one statement
    assert saved.written == 2
    if postgresql:  # and no other row is rewritten
        after = await row_versions(store)
        assert {b for b in after if after[b] != versions[b]} == {"b3", "b5"}
    state = await store.destination_state(DEST, T0 + 2 * HOUR, lookback=DAY, horizon=30 * DAY)
    shown = {known.backup.id: known.backup for known in state.backups}
    assert shown["b5"].name == "renamed"
    assert "b3" not in shown  # kept by hand: no longer expires, so never "expiring"
    assert shown["b4"] == page[4]


async def test_on_postgresql_a_page_is_written_as_one_json_parameter(store: Store) -> None:
    # SQLAlchemy prepares every parameter of every row of an executemany in Python;
    # PostgreSQL takes the page as one JSON text instead, which the server unpacks.
    page = [backup(f"b{i}", "completed", created_at=T0 - i * HOUR) for i in range(30)]
    writes: list[tuple[str, bool, Any]] = []

    def record(
        conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if statement.lstrip().startswith("INSERT INTO known_backups"):
            writes.append((conn.dialect.name, many, params))

    event.listen(Engine, "before_cursor_execute", record)
    try:
        await store.save_backups(DEST, page, T0)
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    ((dialect, many, params),) = writes
    if dialect == "postgresql":
        assert not many
        (page_text,) = params
        assert [row["backup_id"] for row in json.loads(page_text)] == [b.id for b in page]
    else:
        assert many and len(params) == 30
    assert len(await store.known_statuses(DEST, [b.id for b in page])) == 30


async def test_awkward_text_and_empty_values_survive_the_write(store: Store) -> None:
    # JSON (PostgreSQL's page) and SQL have their own quoting; none of it may show in
    # what is stored.
    names = ['a,"b"', "{c}", "back\\slash", "NULL", "", "émoji 🚀", "x'); DROP TABLE t; --"]
    names += ["tab\tand\nnew line", "\u2028", "null"]
    saved = [
        backup(f"b{i}", "completed", created_at=T0 - i * HOUR, name=label, size_bytes=None)
        for i, label in enumerate(names)
    ]
    saved.append(backup("bare", "new-status", addon=None, project=None, schedules=()))
    saved.append(backup("sched", "in-progress", schedules=(DAILY, HOURLY), size_bytes=0))
    # Another offset, to the microsecond, comes back as the same instant in UTC.
    offset = timezone(timedelta(hours=5, minutes=30))
    saved.append(
        backup(
            "elsewhere",
            "completed",
            created_at=datetime(2025, 2, 27, 17, 31, 2, 123456, tzinfo=offset),
            completed_at=datetime(2025, 2, 27, 18, 0, 0, 1, tzinfo=offset),
            size_bytes=2**62 + 1,  # beyond a double's exact integers
        )
    )
    before_the_epoch = datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    saved.append(backup("ancient", "completed", created_at=before_the_epoch))
    await store.save_backups(DEST, saved, T0)
    state = await store.destination_state(DEST, T0, lookback=DAY, horizon=DAY)
    failing_or_running = {known.backup.id: known.backup for known in state.backups}
    assert failing_or_running == {"bare": saved[-4], "sched": saved[-3]}
    everything = await store.backups_created_since(DEST, before_the_epoch)
    assert {b.id: b for b in everything} == {b.id: b for b in saved}


async def test_a_naive_time_is_refused_and_nothing_of_the_page_is_written(store: Store) -> None:
    naive = backup("naive", completed_at=datetime(2025, 3, 1, 12, 0))  # a bug upstream
    with pytest.raises((StatementError, ValueError), match="naive datetime"):
        await store.save_backups(DEST, [backup("fine"), naive], T0)
    assert await store.known_statuses(DEST, ["fine", "naive"]) == {}


# ----- per-addon summaries --------------------------------------------------------------


async def test_an_addon_summary_follows_its_newest_backups(store: Store) -> None:
    older = backup("b1", "completed", created_at=T0 - 2 * DAY, completed_at=T0 - 2 * DAY)
    newer = backup("b2", "completed", created_at=T0 - DAY, completed_at=T0 - DAY)
    running = backup("b3", "in-progress", created_at=T0 - HOUR)
    await store.save_backups(DEST, [running, newer, older], T0)
    summary = await addon(store)
    assert summary.addon.name == "addon-db name"
    assert summary.project is not None and summary.project.id == "project-shop"
    assert summary.addon_type == "postgresql"
    assert summary.first_seen_at == T0
    assert summary.last_created_at == T0 - HOUR
    assert summary.latest_completed == newer


async def test_an_older_page_read_later_does_not_move_the_summary_back(store: Store) -> None:
    newest = backup("b3", "failed", created_at=T0 - HOUR, schedules=(DAILY,))
    completed = backup("b2", "completed", created_at=T0 - DAY, schedules=(DAILY,))
    await store.save_backups(DEST, [newest, completed], T0)
    oldest = backup("b1", "completed", created_at=T0 - 5 * DAY, schedules=(HOURLY,))
    await store.save_backups(DEST, [oldest], T0 + HOUR)
    summary = await addon(store)
    assert summary.last_created_at == T0 - HOUR
    assert summary.latest_completed == completed
    assert summary.schedules == (DAILY,)
    assert summary.first_seen_at == T0


async def test_a_newer_page_moves_the_summary_forward(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "completed", created_at=T0 - DAY)], T0)
    newer = backup("b2", "completed", created_at=T0, schedules=(HOURLY,), addon_name="db2")
    await store.save_backups(DEST, [newer], T0 + HOUR)
    summary = await addon(store)
    assert summary.last_created_at == T0
    assert summary.latest_completed == newer
    assert summary.schedules == (HOURLY,)
    assert summary.addon.name == "db2"
    assert summary.first_seen_at == T0


async def test_schedules_come_from_the_newest_backup_that_lists_any(store: Store) -> None:
    scheduled = backup("b1", "completed", created_at=T0 - DAY, schedules=(DAILY, HOURLY))
    await store.save_backups(DEST, [scheduled], T0)
    manual = backup("b2", "completed", created_at=T0, schedules=())
    await store.save_backups(DEST, [manual], T0 + HOUR)
    summary = await addon(store)
    assert summary.schedules == (DAILY, HOURLY)
    assert summary.latest_completed == manual


async def test_an_addon_never_completed_has_no_latest_completed(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "failed"), backup("b2", "in-progress")], T0)
    summary = await addon(store)
    assert summary.latest_completed is None
    assert summary.schedules == ()


async def test_backups_without_an_addon_are_kept_but_summarise_nothing(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "in-progress", addon=None, project=None)], T0)
    state = await store.destination_state(DEST, T0, lookback=DAY, horizon=DAY)
    assert state.addons == ()
    (known,) = state.backups
    assert known.backup.addon is None and known.backup.project is None


# ----- what can still raise an alert ----------------------------------------------------


async def test_destination_state_holds_only_what_can_still_raise_an_alert(store: Store) -> None:
    now = T0
    page = [
        backup("scheduled", "scheduled", created_at=now - 30 * DAY),
        backup("running", "in-progress", created_at=now - HOUR),
        backup("aborting", "aborting", created_at=now - HOUR),
        backup("mystery", "paused-by-northflank", created_at=now - HOUR),
        backup("failed-recently", "failed", created_at=now - DAY, completed_at=now - DAY),
        backup("aborted-recently", "aborted", created_at=now - 6 * DAY),
        backup("failed-long-ago", "failed", created_at=now - 8 * DAY, completed_at=now - 8 * DAY),
        backup("expiring-soon", "completed", created_at=now - DAY, expires_at=now + DAY),
        backup("expiring-later", "completed", created_at=now - DAY, expires_at=now + 4 * DAY),
        backup("expired", "completed", created_at=now - 9 * DAY, expires_at=now - HOUR),
        backup("kept-forever", "completed", created_at=now - DAY),
        backup("not-supported", "not-supported", created_at=now - HOUR),
    ]
    await store.save_backups(DEST, page, now)
    state = await store.destination_state(DEST, now, lookback=LOOKBACK, horizon=HORIZON)
    assert state.destination_id == DEST
    assert {known.backup.id for known in state.backups} == {
        "scheduled",
        "running",
        "aborting",
        "mystery",
        "failed-recently",
        "aborted-recently",
        "expiring-soon",
    }


async def test_a_failure_first_seen_long_after_it_happened_is_history(store: Store) -> None:
    old = backup("b1", "failed", created_at=T0 - 30 * DAY, completed_at=T0 - 30 * DAY)
    await store.save_backups(DEST, [old], T0)
    state = await store.destination_state(DEST, T0, lookback=LOOKBACK, horizon=HORIZON)
    assert state.backups == ()


async def test_a_failure_seen_happening_is_news_however_old_the_backup(store: Store) -> None:
    await store.save_backups(DEST, [backup("b1", "in-progress", created_at=T0 - 30 * DAY)], T0)
    await store.save_backups(DEST, [backup("b1", "failed", created_at=T0 - 30 * DAY)], T0 + HOUR)
    state = await store.destination_state(DEST, T0 + HOUR, lookback=LOOKBACK, horizon=HORIZON)
    assert state.backups == (
        KnownBackup(backup("b1", "failed", created_at=T0 - 30 * DAY), T0 + HOUR),
    )


async def test_backups_come_back_exactly_as_saved(store: Store) -> None:
    saved = [
        backup("b1", "paused-by-northflank", created_at=T0 - HOUR, schedules=(DAILY, HOURLY)),
        backup("b2", "completed", completed_at=T0, expires_at=T0 + DAY, size_bytes=None),
    ]
    await store.save_backups(DEST, saved, T0)
    state = await store.destination_state(DEST, T0, lookback=LOOKBACK, horizon=HORIZON)
    by_id: dict[str, Backup] = {known.backup.id: known.backup for known in state.backups}
    assert by_id == {b.id: b for b in saved}
    assert by_id["b1"].status_text == "paused-by-northflank"


# ----- the summary a `watch` reply shows ------------------------------------------------


async def test_destination_summary_counts_and_lists_what_matters(store: Store) -> None:
    page = [
        # addon-a's newest backup failed: it is failing.
        backup("a3", "failed", created_at=T0 - HOUR, addon="addon-a"),
        backup("a2", "completed", created_at=T0 - DAY, addon="addon-a", expires_at=T0 + DAY),
        # addon-b failed once, then recovered: not failing.
        backup("b2", "completed", created_at=T0 - HOUR, addon="addon-b", expires_at=T0 + 2 * DAY),
        backup("b1", "aborted", created_at=T0 - DAY, addon="addon-b"),
        # addon-c's newest backup was aborted.
        backup("c1", "aborted", created_at=T0 - 2 * HOUR, addon="addon-c"),
        backup("d1", "completed", created_at=T0 - DAY, addon="addon-d", expires_at=T0 + 3 * HOUR),
        backup(
            "d0", "completed", created_at=T0 - 2 * DAY, addon="addon-d", expires_at=T0 + 9 * DAY
        ),
        backup("d-1", "completed", created_at=T0 - 9 * DAY, addon="addon-d", expires_at=T0 - DAY),
    ]
    await store.save_backups(DEST, page, T0)
    summary = await store.destination_summary(DEST, T0, complete=False)
    assert summary.total == 8
    assert summary.counts == {"failed": 1, "completed": 5, "aborted": 2}
    assert [b.id for b in summary.failing] == ["a3", "c1"]
    assert [b.id for b in summary.next_expiries] == ["d1", "a2", "b2"]
    assert summary.complete is False


async def test_an_unknown_destination_summarises_as_empty(store: Store) -> None:
    summary = await store.destination_summary(DEST, T0, complete=True)
    assert (summary.total, summary.counts, summary.failing, summary.next_expiries) == (
        0,
        {},
        (),
        (),
    )
    assert summary.complete is True


async def test_an_addon_keeps_its_last_completed_backups_for_the_anomaly_rule(
    store: Store,
) -> None:
    first_page = [
        backup(f"c{i}", "completed", created_at=T0 - i * HOUR, completed_at=T0 - i * HOUR)
        for i in range(40)
    ]
    await store.save_backups(DEST, first_page[:20], T0)
    await store.save_backups(DEST, first_page[20:], T0)  # an older page, read later
    running = backup("new", "in-progress", created_at=T0 + HOUR)
    await store.save_backups(DEST, [running], T0 + HOUR)
    (addon,) = (await store.destination_state(DEST, T0, lookback=LOOKBACK, horizon=HORIZON)).addons
    kept = addon.recent_completed
    # The newest RECENT_KEPT, oldest first, whatever order the pages came in; a page
    # without a completed backup of the addon leaves them as they were.
    assert [run.backup_id for run in kept] == [f"c{i}" for i in range(RECENT_KEPT - 1, -1, -1)]
    # First seen already completed: as old news as the backup itself.
    assert kept[-1].status_since == T0 and kept[-1].size_bytes == 1024
    # Seen completing by a later poll: from that poll on.
    done = backup("new", "completed", created_at=T0 + HOUR, completed_at=T0 + 2 * HOUR)
    await store.save_backups(DEST, [done], T0 + 3 * HOUR)
    (addon,) = (await store.destination_state(DEST, T0, lookback=LOOKBACK, horizon=HORIZON)).addons
    assert addon.recent_completed[-1].backup_id == "new"
    assert addon.recent_completed[-1].status_since == T0 + 3 * HOUR
    assert len(addon.recent_completed) == RECENT_KEPT
