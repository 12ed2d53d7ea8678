"""Configuration: environment variables (``MMZOOM_*``), optionally a TOML file.

The variable names are a public contract mirroring the Go plugin's settings.
Environment variables win over the file, so a container can override one value
of a shared file. ``load_settings`` turns every problem into one line that
names the variable and says how to fix it.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

ENV_PREFIX = "MMZOOM_"
MIN_KEY_LENGTH = 32
MIN_SECRET_LENGTH = 16
# Variables with the prefix that are not settings: `setup`'s one-time admin token.
NOT_SETTINGS = frozenset({"MMZOOM_SETUP_ADMIN_TOKEN"})

# How to fix each setting, shown next to the problem.
_HINTS: dict[str, str] = {
    "mattermost_url": "set it to your Mattermost site URL, e.g. https://chat.example.com",
    "bot_token": "create a bot account and an access token for it (`mattermost-zoom setup`)",
    "public_url": "the URL at which Mattermost users reach this service, "
    "e.g. https://chat.example.com/plugins/zoom",
    "slash_command_token": "copy the token Mattermost shows for the /zoom slash command "
    "(several teams: separate them with commas)",
    "zoom_url": "leave unset for https://zoom.us",
    "zoom_api_url": "leave unset for https://api.zoom.us/v2",
    "oauth_client_id": "copy the Client ID from your Zoom app's App Credentials page",
    "oauth_client_secret": "copy the Client Secret from your Zoom app's App Credentials page",
    "encryption_key": f"use a random string of at least {MIN_KEY_LENGTH} characters, "
    "e.g. `openssl rand -base64 48`; several keys are separated by commas",
    "webhook_secret": f"use a random string of at least {MIN_SECRET_LENGTH} characters, "
    "e.g. `openssl rand -hex 24`",
    "zoom_webhook_secret": "copy the Secret Token from your Zoom app's Feature page",
    "database_url": "use sqlite:///path/to/file.db or postgresql://user@host/dbname",
    "worker_lease_seconds": "a whole number of seconds between 2 and 3600 (default 30)",
    "log_format": "json (one object per line) or text (for a terminal)",
}


class ConfigError(Exception):
    """Raised with one human-readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class Settings(BaseSettings):
    """Everything the service needs to run; nothing secret shows in ``repr``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    mattermost_url: str
    bot_token: SecretStr
    public_url: str = ""
    slash_command_token: SecretStr
    zoom_url: str = "https://zoom.us"
    zoom_api_url: str = "https://api.zoom.us/v2"
    oauth_client_id: str
    oauth_client_secret: SecretStr
    account_level_app: bool = False
    encryption_key: SecretStr
    webhook_secret: SecretStr
    zoom_webhook_secret: SecretStr | None = None
    restrict_meeting_creation: bool = False
    enable_posting_recording_password: bool = False
    database_url: str = Field(default="sqlite:///mattermost-zoom.db")
    # How long a worker holds a Zoom event before another process may take it
    # over (after a crash). Workers holding an event keep renewing it.
    worker_lease_seconds: int = Field(default=30, ge=2, le=3600)
    # "json": one object per line, for log collectors; "text": for a terminal.
    log_format: Literal["json", "text"] = "json"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # ``load_settings`` merges file and environment itself; no hidden sources.
        return (init_settings,)

    @field_validator("mattermost_url", "zoom_url", "zoom_api_url", "public_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value == "":
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("must not contain a query string or fragment")
        return value

    @field_validator("oauth_client_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("bot_token", "oauth_client_secret", "slash_command_token")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("encryption_key")
    @classmethod
    def _keys_long_enough(cls, value: SecretStr) -> SecretStr:
        keys = [k.strip() for k in value.get_secret_value().split(",")]
        if any(len(k) < MIN_KEY_LENGTH for k in keys):
            raise ValueError(f"has a key shorter than {MIN_KEY_LENGTH} characters")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().strip()) < MIN_SECRET_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_LENGTH} characters long")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "sqlite+aiosqlite:", "postgresql:", "postgresql+")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @model_validator(mode="after")
    def _default_public_url(self) -> Settings:
        if not self.public_url:
            object.__setattr__(self, "public_url", f"{self.mattermost_url}/plugins/zoom")
        return self

    # Derived values, so that no caller parses strings again.

    @property
    def slash_command_tokens(self) -> tuple[str, ...]:
        raw = self.slash_command_token.get_secret_value()
        return tuple(t.strip() for t in raw.split(",") if t.strip())

    @property
    def encryption_keys(self) -> tuple[str, ...]:
        return tuple(k.strip() for k in self.encryption_key.get_secret_value().split(","))

    @property
    def public_path(self) -> str:
        """The path under which every route lives, e.g. ``/plugins/zoom``."""
        return urlsplit(self.public_url).path.rstrip("/")

    @property
    def oauth_redirect_url(self) -> str:
        return f"{self.public_url}/oauth2/complete"

    @property
    def zoom_hosts(self) -> frozenset[str]:
        """Hosts the service may download recordings from."""
        return frozenset(urlsplit(u).netloc for u in (self.zoom_url, self.zoom_api_url))


def _describe(error: Mapping[str, Any]) -> str:
    field = str(error["loc"][0]) if error["loc"] else "config"
    name = ENV_PREFIX + field.upper()
    if error["type"] == "missing":
        problem = "is not set"
    elif error["type"] == "extra_forbidden":
        return (
            f"{ENV_PREFIX}{field.upper()} is not a known setting: remove it or check its spelling"
        )
    else:
        problem = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "bool_parsing":
            problem = "must be true or false"
    hint = _HINTS.get(field)
    return f"{name} {problem}" + (f": {hint}" if hint else "")


def load_settings(
    config_file: Path | None = None, environ: Mapping[str, str] | None = None
) -> Settings:
    """Build settings from the environment (``os.environ`` by default) and an
    optional TOML file, the environment winning.

    The TOML file uses the setting names without the prefix, in lower case
    (``mattermost_url = "https://..."``). Raises ``ConfigError``.
    """
    values: dict[str, Any] = {}
    if config_file is not None:
        try:
            parsed = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"--config {config_file}: no such file"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"--config {config_file}: not valid TOML ({exc})"]) from None
        values = {k.lower().removeprefix("mmzoom_"): v for k, v in parsed.items()}
    for key, value in (os.environ if environ is None else environ).items():
        if key.upper().startswith(ENV_PREFIX) and key.upper() not in NOT_SETTINGS:
            values[key[len(ENV_PREFIX) :].lower()] = value
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError([_describe(e) for e in exc.errors()]) from None
