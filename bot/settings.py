"""One place for configuration, read from the environment once at start-up."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# The checkout holding knowledge/ (an editable install); otherwise the working directory (an
# installed package, e.g. in the container, runs from the project folder).
_CHECKOUT = Path(__file__).resolve().parent.parent
PROJECT_ROOT = _CHECKOUT if (_CHECKOUT / "knowledge").is_dir() else Path.cwd()
PLACEHOLDER_SECRETS = {"changeme", "change-me", "your-token-here", "xxx", "token", "secret"}


def normalise_url(url: str) -> str:
    """Accept the usual postgres:// spellings and pick the installed psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def safe_url(url: str) -> str:
    """The database URL without its password, for messages and logs."""
    scheme, _, rest = url.partition("://")
    credentials, at, place = rest.rpartition("@")
    if not at:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{place}" if ":" in credentials else f"{scheme}://{user}@{place}"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", env_ignore_empty=True)

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    database_url: str = f"sqlite:///{PROJECT_ROOT / 'data' / 'careerbot.db'}"
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    index_dir: Path = PROJECT_ROOT / "index"
    admin_user_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"  # the webhook server listens on all interfaces
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    telegram_timeout_seconds: float = Field(default=20.0, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_retention_days: int = Field(default=90, ge=1)
    max_question_chars: int = Field(default=500, ge=20)
    embed_threads: int = Field(default=0, ge=0, le=64)  # model runs at once; 0: one per core
    per_chat_messages_per_minute: int = Field(default=20, ge=1)
    # Operations: how long the bot waits, how many turns run at once, how fast it sends.
    database_timeout_seconds: float = Field(default=10.0, gt=0)  # connect, lock, statement
    answer_timeout_seconds: float = Field(default=30.0, gt=0)  # then "try again in a minute"
    dialogue_threads: int = Field(default=8, ge=1, le=64)  # turns computed at once
    typing_after_seconds: float = Field(default=1.0, ge=0)  # "typing…" only for slow answers
    send_per_second: float = Field(default=29.0, gt=0)  # Telegram allows about 30 per bot
    # The send budget and the inbox lease are shared through the database; on by default for
    # PostgreSQL, where several replicas may run.
    shared_send_budget: bool | None = None
    replica_id: str = Field(default_factory=socket.gethostname, min_length=1, max_length=64)
    inbox_lease_seconds: float = Field(default=120.0, gt=0)

    @field_validator("database_url")
    @classmethod
    def _database_driver(cls, value: str) -> str:
        return normalise_url(value)

    @property
    def uses_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    @field_validator("admin_user_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            try:
                return frozenset(int(part) for part in parts if part)
            except ValueError:
                raise ValueError("must be Telegram user ids separated by commas") from None
        return value

    @field_validator("telegram_bot_token", "webhook_secret")
    @classmethod
    def _refuse_placeholders(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; set the real value")
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, _, rest = value.get_secret_value().partition(":")
            if not bot_id.isdigit() or len(rest) < 10:
                raise ValueError("does not look like a BotFather token (123456:ABC...)")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters of A-Z, a-z, 0-9, _ and -.
        if value is not None:
            secret = value.get_secret_value()
            if not (1 <= len(secret) <= 256) or not all(c.isalnum() or c in "_-" for c in secret):
                raise ValueError("must be 1-256 characters of letters, digits, _ or -")
        return value


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation errors into one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        problems = []
        for item in error.errors():
            name = ".".join(str(part) for part in item["loc"]).upper() or "settings"
            problems.append(f"{name} {item['msg'].removeprefix('Value error, ')}")
        raise SettingsError("Bad settings: " + "; ".join(problems)) from None
