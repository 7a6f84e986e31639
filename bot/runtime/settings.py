"""The configuration contract: environment variables, or a `.env` file.

Layers, because the CLI's `list` and `destinations` need only Northflank
access, while `run` needs Slack too; every layer includes how to log. A
missing or malformed value becomes a `ConfigurationError` whose text names
the variable and how to fix it, and never echoes the value (it may be a
secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.core.users import is_user_id
from bot.northflank.client import NorthflankClient
from bot.runtime.logs import LogFormat
from bot.store.encryption import EncryptionKeyError, TokenVault

# How to fix each variable, shown next to its name when it is missing or wrong.
_HINTS: dict[str, str] = {
    "SLACK_BOT_TOKEN": "the bot token (xoxb-...) from your Slack app's OAuth & Permissions page",
    "SLACK_APP_TOKEN": "an app-level token (xapp-...) with connections:write, or leave it unset "
    "for HTTP mode",
    "SLACK_SIGNING_SECRET": "the signing secret from your Slack app's Basic Information page "
    "(required in HTTP mode, i.e. when SLACK_APP_TOKEN is unset)",
    "SLACK_API_URL": "an http(s) URL such as https://slack.com/api/",
    "SLACK_CLIENT_ID": "the Client ID from your Slack app's Basic Information page",
    "SLACK_CLIENT_SECRET": "the Client Secret from your Slack app's Basic Information page",
    "NORTHFLANK_API_TOKEN": "a Northflank API token whose role can read backup destinations",
    "NORTHFLANK_API_BASE_URL": "an http(s) URL such as https://api.northflank.com",
    "NORTHFLANK_TEAM_ID": "your Northflank team id (needed by organisation tokens), or unset",
    "DATABASE_URL": "sqlite:///path/to/file.db or postgresql://user@host/db",
    "PORT": "a TCP port number between 1 and 65535",
    "POLL_INTERVAL": "a number of seconds, at least 30",
    "BOT_ADMINS": "Slack user ids separated by commas, such as U012ABC,U034DEF",
    "LOG_FORMAT": "text (the default) or json, for one JSON object per line",
    "LOG_LEVEL": "DEBUG, INFO (the default), WARNING or ERROR",
    "LEASE_SECONDS": "a number of seconds between 5 and 3600 (default 60)",
    "RETENTION_DAYS": "a number of days between 7 and 3650 (default 90)",
    "ENCRYPTION_KEY": "one or more Fernet keys, comma-separated, the newest first; "
    "`python -m bot keys generate` prints one",
}

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


SettingsT = TypeVar("SettingsT", bound=BaseSettings)


class ConfigurationError(Exception):
    """Start-up cannot go on; the message is meant for the operator's terminal."""


def _check_http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


class LoggingSettings(BaseSettings):
    """How every entry point logs; the other layers build on this one."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    log_format: LogFormat = "text"
    log_level: LogLevel = "INFO"

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _any_case(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        value = value.strip()
        return value.upper() if info.field_name == "log_level" else value.lower()

    def secrets(self) -> list[str]:
        """Every secret value this layer holds, so that logging can redact them wherever
        they appear. Each layer adds its own and calls the next (cooperative super())."""
        return []


class NorthflankSettings(LoggingSettings):
    """What every Northflank command needs: access to the Northflank API."""

    northflank_api_token: SecretStr
    northflank_api_base_url: str = "https://api.northflank.com"
    northflank_team_id: str | None = None

    @field_validator("northflank_api_token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("is empty")
        return value

    @field_validator("northflank_api_base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        return _check_http_url(value)

    @field_validator("northflank_team_id")
    @classmethod
    def _blank_team_is_unset(cls, value: str | None) -> str | None:
        return value.strip() or None if value is not None else None

    def secrets(self) -> list[str]:
        return [*super().secrets(), self.northflank_api_token.get_secret_value()]

    def northflank_client(self) -> NorthflankClient:
        """A client for this token and base URL; the caller closes it (`aclose`)."""
        return self.northflank_client_for(
            self.northflank_api_token.get_secret_value(), self.northflank_team_id
        )

    def northflank_client_for(self, api_token: str, team_id: str | None) -> NorthflankClient:
        """A client for another token (a stored connection) on the same API."""
        return NorthflankClient(
            api_token=api_token, base_url=self.northflank_api_base_url, team_id=team_id
        )


class DatabaseSettings(LoggingSettings):
    """What `db upgrade` needs: where the database is, and the key to its stored tokens."""

    database_url: str = "sqlite:///data/backup-bot.db"
    # Fernet key(s) for the Northflank tokens `/backups connect` stores (bot/store/encryption.py).
    encryption_key: SecretStr | None = None

    @field_validator("encryption_key")
    @classmethod
    def _keys_are_fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        try:
            TokenVault.from_keys(value.get_secret_value())
        except EncryptionKeyError as exc:
            raise ValueError(str(exc).replace("ENCRYPTION_KEY", "it")) from None
        return value

    def token_vault(self) -> TokenVault | None:
        """The vault for ENCRYPTION_KEY, or None when it is unset."""
        if self.encryption_key is None:
            return None
        return TokenVault.from_keys(self.encryption_key.get_secret_value())

    @field_validator("database_url")
    @classmethod
    def _database_url_shape(cls, value: str) -> str:
        if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        return value

    def secrets(self) -> list[str]:
        # A driver's error can quote the URL; the password must not follow it into a log.
        password = urlsplit(self.database_url).password
        encoded = [password, unquote(password)] if password else []
        keys = self.encryption_key.get_secret_value().split(",") if self.encryption_key else []
        return [*super().secrets(), *encoded, *(k.strip() for k in keys if k.strip())]


class PollSettings(NorthflankSettings, DatabaseSettings):
    """What `check` needs: Northflank, the store and the poll interval."""

    poll_interval: int = Field(default=300, ge=30)


class BotSettings(PollSettings):
    """Everything `backup-bot run` needs."""

    # Required here; None only in a distributable app (DistributedBotSettings below),
    # whose workspaces' tokens come from their installations.
    slack_bot_token: SecretStr | None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    # 0 asks the OS for any free port (the tests use it).
    port: int = Field(default=3000, ge=0, le=65535)
    bot_admins: Annotated[frozenset[str], NoDecode] = frozenset()
    # How long a replica's claim on a destination or an outbox message outlives
    # the replica: after a crash, others take its work over this much later.
    lease_seconds: int = Field(default=60, ge=5, le=3600)
    # Delivered messages, resolved alerts and backups Northflank no longer lists are
    # deleted this long after; the audit trail is kept a year (bot/services/retention.py).
    # At least a week: a failure is looked at for that long after it happened.
    retention_days: int = Field(default=90, ge=7, le=3650)

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("must start with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith("xapp-"):
            raise ValueError("must start with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _slack_url_shape(cls, value: str) -> str:
        # slack_sdk joins method names onto the base URL, so it must end in "/".
        return _check_http_url(value).rstrip("/") + "/"

    @field_validator("bot_admins", mode="before")
    @classmethod
    def _split_admins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return frozenset(part for part in value.replace(" ", ",").split(",") if part)
        return value

    @field_validator("bot_admins")
    @classmethod
    def _admins_are_user_ids(cls, value: frozenset[str]) -> frozenset[str]:
        # A typo (`u012abc`) or a pasted mention (`<@U012ABC>`) would otherwise
        # lock everyone out of configuration with no hint why.
        bad = sum(1 for admin in value if not is_user_id(admin))
        if bad:
            raise ValueError(
                f"{bad} of its {len(value)} entries {'is' if bad == 1 else 'are'} not "
                "a Slack user id (upper-case, starting with U or W)"
            )
        return value

    @model_validator(mode="after")
    def _one_workspace_needs_its_token(self) -> BotSettings:
        if self.slack_bot_token is None and not self.distributed:
            raise ValueError("SLACK_BOT_TOKEN: not set")
        return self

    @property
    def distributed(self) -> bool:
        """Several workspaces, installed through OAuth, rather than one bot token."""
        return False

    @model_validator(mode="after")
    def _http_mode_needs_signing_secret(self) -> BotSettings:
        secret = self.slack_signing_secret
        if self.slack_app_token is None and (secret is None or not secret.get_secret_value()):
            raise ValueError("SLACK_SIGNING_SECRET is required when SLACK_APP_TOKEN is unset")
        return self

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def secrets(self) -> list[str]:
        values = [self.slack_bot_token, self.slack_app_token, self.slack_signing_secret]
        return [*super().secrets(), *(v.get_secret_value() for v in values if v is not None)]


class DistributedBotSettings(BotSettings):
    """A distributable app: installed per workspace through `/slack/install`.

    Chosen when SLACK_CLIENT_ID is set and SLACK_BOT_TOKEN is not
    (`bot_settings_class`). HTTP mode only, and ENCRYPTION_KEY is required: the
    app stores every workspace's bot token, encrypted.
    """

    slack_bot_token: SecretStr | None = None
    slack_client_id: str
    slack_client_secret: SecretStr

    @model_validator(mode="after")
    def _distributed_needs_http_and_a_key(self) -> DistributedBotSettings:
        if self.slack_app_token is not None:
            raise ValueError(
                "SLACK_APP_TOKEN: a distributable app runs in HTTP mode; unset it "
                "(or set SLACK_BOT_TOKEN for one workspace in Socket Mode)"
            )
        if self.encryption_key is None:
            raise ValueError(
                "ENCRYPTION_KEY: not set (a distributable app stores each workspace's "
                "bot token, encrypted)"
            )
        if self.slack_bot_token is not None:
            raise ValueError("SLACK_BOT_TOKEN: leave it unset for a distributable app")
        return self

    @property
    def distributed(self) -> bool:
        return True

    def secrets(self) -> list[str]:
        return [*super().secrets(), self.slack_client_secret.get_secret_value()]


def bot_settings_class(environ: Mapping[str, str]) -> type[BotSettings]:
    """One workspace, or a distributable app: SLACK_CLIENT_ID without SLACK_BOT_TOKEN.

    `environ` is the process environment merged with .env, as the settings read them.
    """
    if environ.get("SLACK_CLIENT_ID", "").strip() and not environ.get("SLACK_BOT_TOKEN", ""):
        return DistributedBotSettings
    return BotSettings


def load(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings, turning pydantic's report into one line per bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    lines = ["backup-bot cannot start: the configuration is incomplete or wrong."]
    for error in exc.errors(include_input=False, include_url=False):
        variable = str(error["loc"][0]).upper() if error["loc"] else ""
        if error["type"] == "missing":
            problem = "not set"
        else:
            # pydantic prefixes custom messages with "Value error, "; the rest is ours.
            problem = str(error["msg"]).removeprefix("Value error, ")
        if not variable:
            # A model-level check: its message already names the variable.
            lines.append(f"  - {problem}")
            variable = problem.split(" ", 1)[0].rstrip(":")
            lines.append(f"      set it to {_HINTS.get(variable, 'a valid value')}")
            continue
        lines.append(f"  - {variable}: {problem[:1].lower()}{problem[1:]}")
        lines.append(f"      set it to {_HINTS.get(variable, 'a valid value')}")
    lines.append("Set these in the environment or in a .env file in the working directory.")
    return "\n".join(lines)
