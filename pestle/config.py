"""Settings read from ``PESTLE_*`` environment variables."""

import os
import secrets
import time
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./pestle.db"
SECRET_KEY_BYTES = 48
SECRET_FILE_WAIT_SECONDS = 5.0


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class ConfigurationError(Exception):
    """The configuration cannot be used; the message says which variable to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PESTLE_", extra="ignore")

    database_url: str = Field(
        DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Signs access and refresh tokens. Generated once beside an SQLite database "
        "when unset; required on PostgreSQL so that every process shares it.",
    )
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    log_level: LogLevel = LogLevel.INFO
    allow_private_webhooks: bool = False
    run_worker_in_process: bool | None = Field(
        None,
        description="Run the delivery worker inside `pestle serve`; by default on SQLite only "
        "(PostgreSQL deployments run `pestle worker` processes).",
    )
    worker_lease_seconds: float = Field(
        60,
        ge=15,
        description="How long a worker holds the deliveries it claimed: longer than a send can "
        "take (10 s), and how soon a killed worker's claims go to another.",
    )
    # NoDecode: the environment gives "409,425", not JSON.
    webhook_retry_statuses: Annotated[frozenset[int], NoDecode] = Field(
        frozenset(),
        description="HTTP statuses retried on the schedule besides 5xx, 408 and 429, e.g. "
        "409,425 (3xx and other 4xx answers fail at once); 410 always disables.",
    )
    app_url: str = "http://127.0.0.1:8000"
    demo_password: SecretStr | None = None

    # Email and SMS channels, and the worker's scheduled jobs (pestle/worker/channels.py, jobs.py).
    smtp_url: SecretStr | None = Field(
        None, description="smtp://USER:PASSWORD@HOST:PORT or smtps://...; unset: no email"
    )
    smtp_from: str = "Pestle <no-reply@localhost>"
    sms_provider: Literal["log", "http"] = "log"
    sms_url: str | None = Field(None, description="A Twilio-compatible Messages endpoint")
    sms_account: str | None = None
    sms_token: SecretStr | None = None
    sms_from: str | None = None
    lot_expiring_interval: timedelta = Field(timedelta(days=1), gt=timedelta(0))
    lot_expiring_days: int = Field(30, ge=1)
    stuck_scan_interval: timedelta = Field(timedelta(minutes=10), gt=timedelta(0))
    outbox_retention_days: int = Field(30, ge=1)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("lot_expiring_interval", "stuck_scan_interval", mode="before")
    @classmethod
    def _seconds_or_iso_duration(cls, value: object) -> object:
        # Environment values are text: "600" means seconds, as "P1D" means one day.
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value

    @field_validator("webhook_retry_statuses", mode="before")
    @classmethod
    def _status_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("webhook_retry_statuses")
    @classmethod
    def _retryable_answers(cls, value: frozenset[int]) -> frozenset[int]:
        wrong = sorted(status for status in value if not 300 <= status < 500 or status == 410)
        if wrong:
            raise ValueError(
                f"only 3xx and 4xx statuses other than 410 can be made retryable, not {wrong}"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        try:
            driver = make_url(value).drivername
        except Exception as error:
            raise ValueError(f"not a database URL: {error}") from None
        if driver not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST/DB")
        return value

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.database_url).drivername.startswith("sqlite")

    @property
    def worker_in_process(self) -> bool:
        if self.run_worker_in_process is None:
            return self.is_sqlite
        return self.run_worker_in_process

    @property
    def sqlite_path(self) -> Path | None:
        """The database file of an SQLite URL; None for PostgreSQL or an in-memory database."""
        if not self.is_sqlite:
            return None
        database = make_url(self.database_url).database
        if not database or database == ":memory:":
            return None
        return Path(database)

    def signing_key(self) -> str:
        """The token signing key: configured, or kept in a 0600 file beside the SQLite file."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        path = self.sqlite_path
        if path is None:
            raise ConfigurationError(
                "PESTLE_SECRET_KEY is required unless the database is an SQLite file"
            )
        return _read_or_create_secret(path.with_name(path.name + ".secret"))


def _read_secret(path: Path) -> str:
    # The winner of a race creates the file before it writes the key: an empty file is a key
    # still being written, so wait for it rather than sign with an empty key.
    deadline = time.monotonic() + SECRET_FILE_WAIT_SECONDS
    while not (secret := path.read_text().strip()):
        if time.monotonic() > deadline:
            raise ConfigurationError(f"{path} is empty: delete it, or set PESTLE_SECRET_KEY")
        time.sleep(0.05)
    return secret


def _read_or_create_secret(path: Path) -> str:
    try:
        return _read_secret(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(SECRET_KEY_BYTES)
    try:
        # O_EXCL: when two processes race, exactly one writes and both read the same key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_secret(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret
