"""`python -m bot ...` as real processes against the fake Northflank."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fakes.northflank import DEFAULT_TOKEN, FakeNorthflank, make_backup
from tests.processes import clean_env, run_bot

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def nf_env(fake_northflank: FakeNorthflank) -> dict[str, str]:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups(
        "dest-1",
        [
            make_backup(
                f"backup-{i:03d}",
                name=f"backup-{i:03d}",
                created_at=T0 + timedelta(hours=i),
                status="failed" if i % 10 == 0 else "completed",
                size=3 * 1024**3,
            )
            for i in range(130)
        ],
    )
    return clean_env(
        NORTHFLANK_API_TOKEN=DEFAULT_TOKEN, NORTHFLANK_API_BASE_URL=fake_northflank.url
    )


def test_list_prints_a_table_newest_first(nf_env: dict[str, str], tmp_path: Path) -> None:
    result = run_bot("list", "dest-1", "--limit", "3", env=nf_env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    title, header, *lines, more = result.stdout.splitlines()
    assert title == "Backups in Primary (dest-1), newest first"
    assert header.split() == [
        "STATUS",
        "NAME",
        "ADDON",
        "PROJECT",
        "SIZE",
        "CREATED",
        "DURATION",
        "EXPIRES",
    ]
    assert [line.split()[1] for line in lines] == ["backup-129", "backup-128", "backup-127"]
    assert "3.0 GiB" in lines[0] and "1m 30s" in lines[0]
    assert "raise --limit" in more


def test_list_json_follows_pages_and_filters(
    nf_env: dict[str, str], tmp_path: Path, fake_northflank: FakeNorthflank
) -> None:
    result = run_bot(
        "list", "Primary", "--status", "failed", "--limit", "50", "--json", env=nf_env, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    backups = json.loads(result.stdout)
    assert [b["name"] for b in backups] == [f"backup-{i:03d}" for i in range(120, -1, -10)]
    first = backups[0]
    assert first["status"] == "failed"
    assert first["sizeBytes"] == 3 * 1024**3
    assert first["createdAt"] == "2026-01-06T00:00:00Z"
    assert first["addon"] == {"id": "addon-1", "name": "Postgres"}
    # 130 backups at 100 a page: two requests, plus one to resolve the name.
    assert fake_northflank.request_count() == 3


def test_destinations(nf_env: dict[str, str], tmp_path: Path) -> None:
    table = run_bot("destinations", env=nf_env, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[1].split() == ["dest-1", "Primary", "s3", "globalBackups"]
    as_json = run_bot("destinations", "--json", env=nf_env, cwd=tmp_path)
    assert json.loads(as_json.stdout)[0]["id"] == "dest-1"


def test_unknown_destination_exits_1_with_a_hint(nf_env: dict[str, str], tmp_path: Path) -> None:
    result = run_bot("list", "nope", env=nf_env, cwd=tmp_path)
    assert result.returncode == 1
    assert "404" in result.stderr and "python -m bot destinations" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_status_exits_2(nf_env: dict[str, str], tmp_path: Path) -> None:
    result = run_bot("list", "dest-1", "--status", "lost", env=nf_env, cwd=tmp_path)
    assert result.returncode == 2
    assert "I don't know the status `lost`" in result.stderr


def test_missing_token_is_a_configuration_message(tmp_path: Path) -> None:
    result = run_bot("list", "dest-1", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 2
    assert "NORTHFLANK_API_TOKEN: not set" in result.stderr
    assert "Traceback" not in result.stderr
