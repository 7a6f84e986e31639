"""The files an operator installs from: the Slack manifest and the Dockerfile."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.processes import REPO


def load_manifest() -> dict[str, Any]:
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text())
    assert isinstance(manifest, dict)
    return manifest


def test_manifest_declares_the_backups_command_under_features() -> None:
    manifest = load_manifest()
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/backups"
    assert command["url"].endswith("/slack/events")
    assert "list [DEST]" in command["usage_hint"]
    assert command["should_escape"] is False
    assert "slash_commands" not in manifest


def test_manifest_scopes_interactivity_and_socket_mode() -> None:
    manifest = load_manifest()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "chat:write.public", "channels:join"} <= scopes
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"].endswith("/slack/events")
    assert settings["socket_mode_enabled"] is True
    assert len(manifest["display_information"]["name"]) <= 35


def test_dockerfile_runs_as_non_root_with_a_health_check() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    final_stage = dockerfile.split("\nFROM ")[-1]
    assert final_stage.startswith("python:3.11-slim")
    users = re.findall(r"^USER\s+(\S+)", final_stage, re.MULTILINE)
    assert users, "the final stage must drop root"
    assert users[-1] not in {"root", "0"}
    healthcheck = re.search(r"^HEALTHCHECK .*", final_stage, re.MULTILINE | re.DOTALL)
    assert healthcheck is not None and "/healthz" in healthcheck.group(0)
    assert 'ENTRYPOINT ["backup-bot"]' in final_stage
