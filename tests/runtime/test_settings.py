"""The configuration contract, and the messages an operator sees when it is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.runtime.settings import (
    BotSettings,
    ConfigurationError,
    DatabaseSettings,
    LoggingSettings,
    NorthflankSettings,
    PollSettings,
    load,
)
from bot.store.encryption import TokenVault, generate_key

CONTRACT_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "NORTHFLANK_API_TOKEN",
    "NORTHFLANK_API_BASE_URL",
    "NORTHFLANK_TEAM_ID",
    "DATABASE_URL",
    "PORT",
    "POLL_INTERVAL",
    "BOT_ADMINS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "LEASE_SECONDS",
    "RETENTION_DAYS",
    "ENCRYPTION_KEY",
)
# The settings of each entry point: run, check, list/destinations, db upgrade.
EVERY_ENTRY_POINT = (BotSettings, PollSettings, NorthflankSettings, DatabaseSettings)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Settings read the process environment and ./.env; isolate both.
    for name in (*CONTRACT_VARIABLES, "NF_API_TOKEN", "NF_API_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_match_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf")
    settings = load(BotSettings)
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.northflank_api_base_url == "https://api.northflank.com"
    assert settings.northflank_team_id is None
    assert settings.database_url == "sqlite:///data/backup-bot.db"
    assert settings.port == 3000
    assert settings.poll_interval == 300
    assert settings.bot_admins == frozenset()
    assert settings.log_format == "text"
    assert settings.log_level == "INFO"
    assert settings.lease_seconds == 60
    assert settings.retention_days == 90
    assert not settings.socket_mode


def test_every_field_is_a_contract_variable() -> None:
    assert {name.upper() for name in BotSettings.model_fields} == set(CONTRACT_VARIABLES)


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_APP_TOKEN=xapp-1\nNORTHFLANK_API_TOKEN=nf\n"
        "BOT_ADMINS=U0A1, U0A2,,U0A3\nSLACK_API_URL=http://127.0.0.1:9/api\nNORTHFLANK_TEAM_ID=team-1\n"
    )
    settings = load(BotSettings)
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert settings.socket_mode
    assert settings.bot_admins == {"U0A1", "U0A2", "U0A3"}
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.northflank_team_id == "team-1"


def test_missing_variables_are_named_with_a_fix() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load(BotSettings)
    message = str(caught.value)
    assert "SLACK_BOT_TOKEN: not set" in message
    assert "NORTHFLANK_API_TOKEN: not set" in message
    assert "OAuth & Permissions" in message
    assert "Traceback" not in message


def test_http_mode_needs_a_signing_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf")
    with pytest.raises(ConfigurationError) as caught:
        load(BotSettings)
    assert "SLACK_SIGNING_SECRET is required when SLACK_APP_TOKEN is unset" in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("SLACK_BOT_TOKEN", "xoxp-user-token-secret", "SLACK_BOT_TOKEN: must start with xoxb-"),
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind-secret", "SLACK_APP_TOKEN: must start with xapp-"),
        ("PORT", "eighty", "PORT: input should be a valid integer"),
        ("PORT", "70000", "PORT: input should be less than or equal to 65535"),
        ("POLL_INTERVAL", "5", "POLL_INTERVAL: input should be greater than or equal to 30"),
        ("LEASE_SECONDS", "1", "LEASE_SECONDS: input should be greater than or equal to 5"),
        ("SLACK_API_URL", "chat-host.invalid", "SLACK_API_URL: must start with http"),
        ("NORTHFLANK_API_BASE_URL", "ftp://x", "NORTHFLANK_API_BASE_URL: must start with http"),
        ("LOG_FORMAT", "yaml", "LOG_FORMAT: input should be 'text' or 'json'"),
        (
            "LOG_LEVEL",
            "verbose",
            "LOG_LEVEL: input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
    ],
)
def test_malformed_values_are_named_and_never_echoed(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, fragment: str
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-good")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as caught:
        load(BotSettings)
    assert fragment in str(caught.value)
    assert value not in str(caught.value)


def test_cli_needs_only_northflank(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf")
    assert load(NorthflankSettings).northflank_api_token.get_secret_value() == "nf"


def test_secrets_lists_every_secret_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-2")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh-3")
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf-4")
    assert set(load(BotSettings).secrets()) == {"xoxb-1", "xapp-2", "shh-3", "nf-4"}


@pytest.mark.parametrize("settings_class", EVERY_ENTRY_POINT, ids=lambda cls: cls.__name__)
def test_every_entry_point_reads_how_to_log(
    monkeypatch: pytest.MonkeyPatch, settings_class: type[LoggingSettings]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf")
    # Any case, and stray spaces, as people type them into a .env file.
    monkeypatch.setenv("LOG_FORMAT", " JSON")
    monkeypatch.setenv("LOG_LEVEL", "warning ")
    settings = load(settings_class)
    assert (settings.log_format, settings.log_level) == ("json", "WARNING")


def test_a_bad_log_setting_stops_even_the_smallest_entry_point(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOG_LEVEL", "TRACE")
    with pytest.raises(ConfigurationError) as caught:
        load(DatabaseSettings)
    assert "LOG_LEVEL: input should be" in str(caught.value)
    assert "set it to DEBUG, INFO (the default), WARNING or ERROR" in str(caught.value)


def test_each_layer_lists_the_secrets_it_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf-4")
    # A percent-encoded password: drivers may quote it either way.
    monkeypatch.setenv("DATABASE_URL", "postgresql://bot:p%40ss-5@db.internal/bot")
    assert load(NorthflankSettings).secrets() == ["nf-4"]
    assert set(load(DatabaseSettings).secrets()) == {"p%40ss-5", "p@ss-5"}
    assert set(load(PollSettings).secrets()) == {"nf-4", "p%40ss-5", "p@ss-5"}
    assert load(LoggingSettings).secrets() == []


def test_encryption_key_is_optional_and_gives_a_vault(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(DatabaseSettings).token_vault() is None
    monkeypatch.setenv("ENCRYPTION_KEY", "  ")  # blank counts as unset
    assert load(DatabaseSettings).encryption_key is None
    new, old = generate_key(), generate_key()
    monkeypatch.setenv("ENCRYPTION_KEY", f"{new}, {old}")
    vault = load(DatabaseSettings).token_vault()
    assert vault is not None and vault.key_count == 2
    assert TokenVault.from_keys(new).decrypt(vault.encrypt("nf-stored")) == "nf-stored"


# `list` and `destinations` (NorthflankSettings) store nothing, so they read no key.
@pytest.mark.parametrize(
    "settings_class", [BotSettings, PollSettings, DatabaseSettings], ids=lambda cls: cls.__name__
)
def test_a_bad_encryption_key_is_named_by_entry_and_never_echoed(
    monkeypatch: pytest.MonkeyPatch, settings_class: type[LoggingSettings]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-good")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf")
    good, bad = generate_key(), "not-a-fernet-key-but-long-enough-to-spot"
    monkeypatch.setenv("ENCRYPTION_KEY", f"{good},{bad}")
    with pytest.raises(ConfigurationError) as caught:
        load(settings_class)
    message = str(caught.value)
    assert "ENCRYPTION_KEY: the 2nd key in it is not a Fernet key" in message
    assert "python -m bot keys generate" in message  # the hint
    assert good not in message and bad not in message


def test_secrets_holds_each_encryption_key(monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = generate_key(), generate_key()
    monkeypatch.setenv("ENCRYPTION_KEY", f" {new} ,{old},")
    monkeypatch.setenv("NORTHFLANK_API_TOKEN", "nf-4")
    assert set(load(DatabaseSettings).secrets()) == {new, old}
    assert set(load(PollSettings).secrets()) == {"nf-4", new, old}
