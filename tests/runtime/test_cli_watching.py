"""`python -m bot db upgrade` and `python -m bot check`, as real processes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.store import Store, upgrade
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup
from tests.processes import clean_env, run_bot


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/state/bot.db"


def test_db_upgrade_creates_the_database_and_can_run_twice(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=sqlite_url(tmp_path))
    first = run_bot("db", "upgrade", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "up to date" in first.stdout
    assert (tmp_path / "state" / "bot.db").exists()
    again = run_bot("db", "upgrade", env=env, cwd=tmp_path)
    assert again.returncode == 0, again.stderr


def test_db_upgrade_rejects_an_unknown_database_url(tmp_path: Path) -> None:
    result = run_bot("db", "upgrade", env=clean_env(DATABASE_URL="mysql://x/y"), cwd=tmp_path)
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_check_before_upgrade_says_how_to_fix_it(
    tmp_path: Path, fake_northflank: FakeNorthflank
) -> None:
    env = clean_env(
        DATABASE_URL=sqlite_url(tmp_path),
        NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
        NORTHFLANK_API_BASE_URL=fake_northflank.url,
    )
    (tmp_path / "state").mkdir()
    result = run_bot("check", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "db upgrade" in result.stderr and "Traceback" not in result.stderr


async def test_check_prints_the_alerts_a_poll_would_post_and_changes_nothing(
    tmp_path: Path, fake_northflank: FakeNorthflank
) -> None:
    url = sqlite_url(tmp_path)
    await upgrade(url)
    store = Store.connect(url)
    try:
        started = datetime.now(UTC)
        fake_northflank.add_destination("dest-1", "Nightly")
        await store.save_watch(
            "C0ALERTS", Destination("dest-1", "Nightly"), WatchSettings(), "U0ADMIN", started
        )
        fake_northflank.add_backups(
            "dest-1", [make_backup("b1", name="broken-tonight", status="failed")]
        )
        env = clean_env(
            DATABASE_URL=url,
            NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
            NORTHFLANK_API_BASE_URL=fake_northflank.url,
        )
        result = run_bot("check", env=env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "broken-tonight" in result.stdout and "failed" in result.stdout
        assert "C0ALERTS" in result.stdout

        # Nothing was kept: no backups known, no alert in the ledger, nothing queued.
        assert await store.known_statuses("dest-1", ["b1"]) == {}
        ledger = await store.ledger("C0ALERTS", "dest-1", since=started.replace(year=2000))
        assert ledger.raised == frozenset()
        assert await store.outbox_depth() == 0

        only_other = run_bot("check", "--dest", "nope", env=env, cwd=tmp_path)
        assert only_other.returncode == 2 and "no channel watches" in only_other.stderr
    finally:
        await store.close()


async def test_check_spends_no_more_than_a_poll_would_and_says_what_it_left(
    tmp_path: Path, fake_northflank: FakeNorthflank
) -> None:
    # Every 30 s, with the documented 1,000 requests an hour less the reserve,
    # a poll may spend 800 / 120 = 6 requests: two of these eight wait.
    url = sqlite_url(tmp_path)
    await upgrade(url)
    store = Store.connect(url)
    try:
        for n in range(8):
            fake_northflank.add_destination(f"dest-{n}", f"Nightly {n}")
            await store.save_watch(
                "C0ALERTS",
                Destination(f"dest-{n}", f"Nightly {n}"),
                WatchSettings(),
                "U0ADMIN",
                datetime.now(UTC),
            )
    finally:
        await store.close()
    env = clean_env(
        DATABASE_URL=url,
        NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
        NORTHFLANK_API_BASE_URL=fake_northflank.url,
        POLL_INTERVAL="30",
    )
    result = run_bot("check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "polled 6 destination(s) with 6 request(s)" in result.stdout
    assert "left 2 destination(s) for later" in result.stdout
    assert "6 this poll for 8 destinations" in result.stdout
    assert fake_northflank.request_count("/v1/backup-destinations/") == 6
