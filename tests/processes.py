"""Running the bot's entry points as real processes, as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTRACT_PREFIXES = (
    "SLACK_",
    "NORTHFLANK_",
    "NF_",
    "DATABASE_URL",
    "PORT",
    "POLL_",
    "BOT_",
    "LOG_",
    "LEASE_",
    "RETENTION_",
    "ENCRYPTION_",
)


def clean_env(**values: str) -> dict[str, str]:
    """The test process's environment without any bot configuration, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(CONTRACT_PREFIXES)}
    env["PYTHONPATH"] = str(REPO)
    env.update(values)
    return env


def run_bot(
    *args: str, env: dict[str, str], cwd: Path, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def spawn_bot(*args: str, env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    """`python -m bot ARGS` in the background, its output captured (stop it with SIGTERM)."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_env(*, northflank_url: str, slack_api_url: str, port: int, **extra: str) -> dict[str, str]:
    """Configuration for `python -m bot run` against the fakes, in HTTP mode."""
    # Imported here so that this module stays usable without the fakes' dependencies.
    import tempfile

    from tests.fakes.northflank import DEFAULT_TOKEN as NF_TOKEN
    from tests.fakes.slack import DEFAULT_TOKEN as SLACK_TOKEN
    from tests.slack.requests import SIGNING_SECRET

    extra.setdefault(
        "DATABASE_URL", f"sqlite:///{tempfile.mkdtemp(prefix='backup-bot-test-')}/bot.db"
    )
    return clean_env(
        SLACK_BOT_TOKEN=SLACK_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack_api_url,
        NORTHFLANK_API_TOKEN=NF_TOKEN,
        NORTHFLANK_API_BASE_URL=northflank_url,
        PORT=str(port),
        **extra,
    )


def wait_for_health(port: int, process: subprocess.Popen[str] | None = None) -> None:
    """Block until the bot on `port` answers /healthz (or fail if it exits first)."""
    import time

    import httpx

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the bot exited early:\n{process.communicate()[1]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise AssertionError("the bot did not become healthy within 20 s")


async def watched_since(database_url: str, started: datetime) -> None:
    """Before a process starts: C0ALERTS watches dest-1 ("Primary") since `started`."""
    from bot.core.backups import Destination
    from bot.core.watches import WatchSettings
    from bot.store import Store, upgrade

    await upgrade(database_url)
    store = Store.connect(database_url)
    try:
        await store.save_watch(
            "C0ALERTS", Destination("dest-1", "Primary"), WatchSettings(), "U0ADMIN", started
        )
    finally:
        await store.close()
