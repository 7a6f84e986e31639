"""The files an operator installs from: the Slack manifest and the Dockerfile."""

from __future__ import annotations

import re
import shlex
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


def test_manifest_offers_reports_and_the_home_tab() -> None:
    # files_upload_v2 needs files:write; "Report to me" opens a DM (im:write); the Home
    # tab is published on app_home_opened, which Slack sends only when subscribed.
    manifest = load_manifest()
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"files:write", "im:write"} <= scopes
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    events = manifest["settings"]["event_subscriptions"]
    assert "app_home_opened" in events["bot_events"]
    assert events["request_url"].endswith("/slack/events")
    assert "report" in manifest["features"]["slash_commands"][0]["usage_hint"]


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


# ----- the final stage's user, in detail ------------------------------------------------------
#
# The image cannot be built on the development machine (no Docker daemon, no
# registry for the base image), so these read the Dockerfile itself.

NO_LOGIN_SHELLS = {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false"}
DATA_FOLDER = "/app/data"


def final_stage_instructions() -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of the final stage, continuation lines joined, comments dropped."""
    dockerfile = (REPO / "Dockerfile").read_text()
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        keyword, _, rest = line.strip().partition(" ")
        if keyword:
            instructions.append((keyword.upper(), rest.strip()))
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def useradd_arguments() -> list[str]:
    """The arguments of the final stage's `useradd`, up to the next shell operator."""
    for keyword, rest in final_stage_instructions():
        if keyword == "RUN" and "useradd" in rest:
            words = shlex.split(rest)
            start = words.index("useradd") + 1
            end = next((i for i in range(start, len(words)) if words[i] in {"&&", ";"}), None)
            return words[start:end]
    raise AssertionError("the final stage creates no user")


def option(arguments: list[str], *names: str) -> str | None:
    for index, word in enumerate(arguments):
        for name in names:
            if word == name and index + 1 < len(arguments):
                return arguments[index + 1]
            if word.startswith(name + "="):
                return word.split("=", 1)[1]
    return None


def test_the_final_stage_runs_as_the_numeric_uid_it_creates_and_that_is_not_0() -> None:
    users = [rest for keyword, rest in final_stage_instructions() if keyword == "USER"]
    assert users, "the final stage must drop root"
    user = users[-1].split(":")[0]
    # A number, so that an orchestrator's runAsNonRoot can check it without /etc/passwd.
    assert user.isdigit() and int(user) != 0, user
    assert option(useradd_arguments(), "--uid", "-u") == user
    keywords = [keyword for keyword, _ in final_stage_instructions()]
    assert max(i for i, k in enumerate(keywords) if k == "USER") < keywords.index("ENTRYPOINT")


def test_the_user_has_no_login_shell() -> None:
    assert option(useradd_arguments(), "--shell", "-s") in NO_LOGIN_SHELLS


def test_the_user_owns_the_data_folder_and_nothing_else() -> None:
    arguments = useradd_arguments()
    assert "--create-home" not in arguments and "-m" not in arguments
    runs = " ".join(rest for keyword, rest in final_stage_instructions() if keyword == "RUN")
    for command in re.findall(r"\bchown\b[^&;]*", runs):
        words = shlex.split(command)[1:]
        targets = [w for w in words if not w.startswith("-")][1:]
        assert targets == [DATA_FOLDER], command
    assert "chmod" not in runs
    for keyword, rest in final_stage_instructions():
        assert not (keyword in {"COPY", "ADD"} and "--chown" in rest), rest


def test_the_owned_folder_is_where_the_default_database_lives() -> None:
    from bot.runtime.settings import BotSettings

    instructions = final_stage_instructions()
    workdirs = [rest for keyword, rest in instructions if keyword == "WORKDIR"]
    volumes = [rest for keyword, rest in instructions if keyword == "VOLUME"]
    default = BotSettings.model_fields["database_url"].default
    assert default == "sqlite:///data/backup-bot.db"
    assert workdirs[-1] + "/data" == DATA_FOLDER
    assert any(DATA_FOLDER in volume for volume in volumes)


def test_no_secret_goes_into_the_image() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert not re.search(r"^\s*(ENV|ARG)\b.*(TOKEN|SECRET)", dockerfile, re.MULTILINE)
    copied = " ".join(
        rest for keyword, rest in final_stage_instructions() if keyword in {"COPY", "ADD"}
    )
    assert ".env" not in copied
    ignored = (REPO / ".dockerignore").read_text().split()
    # Every .env, deploy/.env (the compose example's settings) included.
    assert "**/.env" in ignored and "data" in ignored


# ----- the distributable app's manifest ---------------------------------------------------


def load_distributed_manifest() -> dict[str, Any]:
    manifest = yaml.safe_load((REPO / "manifest.distributed.yml").read_text())
    assert isinstance(manifest, dict)
    return manifest


def test_both_manifests_ask_for_the_scopes_the_oauth_flow_asks_for() -> None:
    from bot.slack.app import SCOPES

    for manifest in (load_manifest(), load_distributed_manifest()):
        assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(SCOPES)


def test_the_distributed_manifest_is_http_mode_with_a_redirect_and_uninstall_events() -> None:
    manifest = load_distributed_manifest()
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is False
    assert [url.rsplit("/", 2)[-2:] for url in manifest["oauth_config"]["redirect_urls"]] == [
        ["slack", "oauth_redirect"]
    ]
    events = settings["event_subscriptions"]
    assert {"app_home_opened", "app_uninstalled", "tokens_revoked"} <= set(events["bot_events"])
    urls = [
        events["request_url"],
        settings["interactivity"]["request_url"],
        manifest["features"]["slash_commands"][0]["url"],
    ]
    assert all(url.startswith("https://") and url.endswith("/slack/events") for url in urls)
    assert "connect" in manifest["features"]["slash_commands"][0]["usage_hint"]
