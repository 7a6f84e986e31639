"""Running the bot's entry points as real processes, as an operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CONTRACT_PREFIXES = ("SLACK_", "NORTHFLANK_", "NF_", "DATABASE_URL", "PORT", "POLL_", "BOT_")


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
