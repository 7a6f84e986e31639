"""`python -m bot report` as a real process: the summary printed, the chart written."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from bot.core.backups import Destination
from bot.core.watches import WatchSettings
from bot.store import Store, upgrade
from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup
from tests.processes import clean_env, run_bot


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state' / 'bot.db'}"


def nightly(now: datetime, days: int) -> list[dict[str, object]]:
    return [
        make_backup(
            f"n{day}",
            name=f"nightly-{day}",
            created_at=now - timedelta(days=day, hours=1),
            status="failed" if day % 7 == 3 else "completed",
            size=2 * 1024**3,
        )
        for day in range(days)
    ]


def test_report_from_the_api_prints_the_summary_and_writes_the_png(
    tmp_path: Path, fake_northflank: FakeNorthflank
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups("dest-1", nightly(datetime.now(UTC), 40))
    env = clean_env(
        DATABASE_URL=sqlite_url(tmp_path),  # no bot database there: read from the API
        NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
        NORTHFLANK_API_BASE_URL=fake_northflank.url,
    )
    (tmp_path / "state").mkdir()
    result = run_bot("report", "dest-1", "--days", "14", "--out", "week.png", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Backup report for Primary: the last 14 days"
    # 14 nightly backups, two of them (days 3 and 10) failed.
    assert "14 backups, 85.7% successful." in lines
    assert "By status: completed 12, failed 2." in lines
    image = Image.open(io.BytesIO((tmp_path / "week.png").read_bytes()))
    assert (image.width, image.height) == (1200, 700)
    assert "chart written to week.png" in lines[-1]


async def test_report_of_a_watched_destination_reads_the_store_only(
    tmp_path: Path, fake_northflank: FakeNorthflank
) -> None:
    url = sqlite_url(tmp_path)
    await upgrade(url)
    store = Store.connect(url)
    now = datetime.now(UTC)
    try:
        await store.save_watch(
            "C0ALERTS", Destination("dest-1", "Nightly"), WatchSettings(), "U0ADMIN", now
        )
    finally:
        await store.close()
    fake_northflank.add_destination("dest-1", "Nightly")
    env = clean_env(
        DATABASE_URL=url,
        NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
        NORTHFLANK_API_BASE_URL=fake_northflank.url,
    )
    before = fake_northflank.request_count()
    result = run_bot("report", "Nightly", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert fake_northflank.request_count() == before  # the store, no Northflank request
    assert "No backups were made in these 30 days." in result.stdout
    assert "no chart written" in result.stdout
    assert not (tmp_path / "report.png").exists()


def test_report_bad_days_and_unknown_destinations_exit_as_list_does(
    tmp_path: Path, fake_northflank: FakeNorthflank
) -> None:
    env = clean_env(
        DATABASE_URL=sqlite_url(tmp_path),
        NORTHFLANK_API_TOKEN=DEFAULT_TOKEN,
        NORTHFLANK_API_BASE_URL=fake_northflank.url,
    )
    (tmp_path / "state").mkdir()
    bad = run_bot("report", "dest-1", "--days", "91", env=env, cwd=tmp_path)
    assert bad.returncode == 2 and "from 1 to 90" in bad.stderr
    unknown = run_bot("report", "nope", env=env, cwd=tmp_path)
    assert unknown.returncode == 1 and "destinations` lists them" in unknown.stderr
