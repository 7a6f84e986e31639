"""The layers of bot/ hold, and the tool that holds them catches a wrong import.

`lint-imports` (import-linter, configured in pyproject.toml) runs in `make
test`. These tests run it on a copy of bot/ with one wrong import added, and
check that it fails naming the contract, so a green `make test` means the
contracts are really checked, not merely configured.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import REPO

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
SLACK_WORDS = re.compile(r"slack_sdk|slack_bolt|bot\.slack|from bot import slack")
# The composition root and the Slack adapter: the only places that may speak Slack.
SLACK_SPEAKERS = ("bot/slack/", "bot/runtime/", "bot/__main__.py")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", str(root / "pyproject.toml")],
        cwd=root,
        # Wide enough that no contract's name is wrapped onto two lines.
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin", "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def copy_with(tmp_path: Path, module: str, line: str) -> Path:
    """A copy of bot/ and its import contracts, with `line` added to the end of `module`."""
    shutil.copytree(REPO / "bot", tmp_path / "bot", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    path = tmp_path / module
    path.write_text(path.read_text() + f"\n{line}\n")
    return tmp_path


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(REPO)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        (
            "bot/core/backups.py",
            "import bot.store  # a core module reaching for an adapter",
            "The core is pure",
        ),
        (
            "bot/core/rules.py",
            "import sqlalchemy  # I/O in the core",
            "The core is pure",
        ),
        (
            "bot/services/watching.py",
            "from bot.slack.render import kit  # a service rendering Block Kit",
            "Only the Slack adapter and the composition root speak Slack",
        ),
        (
            "bot/store/ledger.py",
            "import slack_sdk  # an adapter speaking Slack",
            "Only the Slack adapter and the composition root speak Slack",
        ),
        (
            "bot/slack/answers.py",
            "from bot.store import Store  # Slack going round the services",
            "The Slack adapter calls the services",
        ),
        (
            "bot/store/watches.py",
            "import bot.northflank.client  # one adapter using another",
            "Layers",
        ),
        (
            "bot/core/backups.py",
            "import bot.core.alerts  # alerts imports backups: a circle",
            "No import cycles",
        ),
    ],
)
def test_a_wrong_import_fails_naming_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    result = lint_imports(copy_with(tmp_path, module, line))
    assert result.returncode != 0, result.stdout
    broken = [row for row in result.stdout.splitlines() if row.endswith("BROKEN")]
    assert any(row.startswith(contract) for row in broken), result.stdout


def test_only_the_slack_adapter_and_the_composition_root_mention_slack_libraries() -> None:
    # The issue's own check: grep -rlE "slack_sdk|slack_bolt|bot\.slack|from bot import slack" bot/
    mentioning = sorted(
        str(path.relative_to(REPO))
        for path in (REPO / "bot").rglob("*.py")
        if SLACK_WORDS.search(path.read_text())
    )
    assert mentioning, "the Slack adapter itself should match"
    outside = [path for path in mentioning if not path.startswith(SLACK_SPEAKERS)]
    assert outside == []


def test_no_module_in_bot_is_over_400_lines() -> None:
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text().splitlines())
        for path in (REPO / "bot").rglob("*.py")
    }
    assert {path: lines for path, lines in sizes.items() if lines > 400} == {}
