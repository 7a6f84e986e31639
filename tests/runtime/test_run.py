"""`backup-bot run` as a real process: the configuration message, and a live bot."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.fakes.northflank import FakeNorthflank, make_backup
from tests.fakes.slack import FakeSlack
from tests.processes import (
    REPO,
    bot_env,
    clean_env,
    free_port,
    run_bot,
    spawn_bot,
    wait_for_health,
    watched_since,
)
from tests.slack.requests import sign, slash_command_body

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-very-secret-bot-token",
    "NORTHFLANK_API_TOKEN": "nf-very-secret-api-token",
}


def test_run_without_tokens_explains_and_exits_non_zero(tmp_path: Path) -> None:
    result = run_bot("run", env=clean_env(), cwd=tmp_path)
    assert result.returncode == 2
    for variable in ("SLACK_BOT_TOKEN", "NORTHFLANK_API_TOKEN"):
        assert f"{variable}: not set" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_settings_are_never_echoed(tmp_path: Path) -> None:
    env = clean_env(**SECRETS, SLACK_SIGNING_SECRET="s3cr3t-signing", PORT="http")
    env["SLACK_BOT_TOKEN"] = "xoxp-a-user-token-not-a-bot-token"
    result = run_bot("run", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN: must start with xoxb-" in result.stderr
    assert "PORT: input should be a valid integer" in result.stderr
    for secret in (env["SLACK_BOT_TOKEN"], env["NORTHFLANK_API_TOKEN"], "s3cr3t-signing"):
        assert secret not in result.stderr + result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_without_tokens_exits_non_zero(tmp_path: Path) -> None:
    if (REPO / ".env").exists():
        pytest.skip("a developer .env in the checkout would configure the bot")
    result = subprocess.run(
        ["make", "--no-print-directory", "-s", "run"],
        cwd=REPO,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "SLACK_BOT_TOKEN: not set" in result.stderr


def test_a_running_bot_answers_a_signed_command(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups("dest-1", [make_backup("b1", name="nightly-1")])
    port = free_port()
    env = bot_env(northflank_url=fake_northflank.url, slack_api_url=fake_slack.api_url, port=port)
    process = spawn_bot("run", env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(port, process)
        body = slash_command_body("list dest-1", fake_slack.response_url("live"))
        ack = httpx.post(f"{base}/slack/events", content=body, headers=sign(body), timeout=5)
        assert ack.status_code == 200
        (reply,) = fake_slack.wait_for_responses(1, timeout=10)
        assert "nightly-1" in str(reply.payload["blocks"])
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert "backup-bot is up: HTTP mode" in stderr
    assert "Northflank accepted the API token" in stderr


def test_a_running_bot_polls_on_its_schedule_and_posts_the_alert(
    fake_northflank: FakeNorthflank, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """The whole `run` path: migrations at start, the scheduler, the delivery loop."""
    database_url = f"sqlite:///{tmp_path}/state/bot.db"
    asyncio.run(watched_since(database_url, datetime.now(UTC) - timedelta(hours=1)))
    fake_northflank.add_destination("dest-1", "Primary")
    fake_northflank.add_backups(
        "dest-1", [make_backup("b1", name="broke-overnight", status="failed")]
    )
    port = free_port()
    env = bot_env(
        northflank_url=fake_northflank.url,
        slack_api_url=fake_slack.api_url,
        port=port,
        DATABASE_URL=database_url,
        POLL_INTERVAL="30",
    )
    process = spawn_bot("run", env=env, cwd=tmp_path)
    try:
        wait_for_health(port, process)
        # The scheduler's first poll comes 2 s after start; the delivery loop posts.
        (post,) = fake_slack.wait_for_calls("chat.postMessage", 1, timeout=15)
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr
    assert post.params["channel"] == "C0ALERTS" and "broke-overnight" in str(post.params)
    assert "poll done" in stderr
