"""The one settings object, read from the environment (prefix ``LEDGERBRIDGE_``).

Every tunable lives here so that a self-hoster has one place to look, and tests build
their own ``Settings`` instead of patching module globals.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "ledgerbridge"


class Settings(BaseSettings):
    """Runtime configuration. Only the data directory is needed to start."""

    model_config = SettingsConfigDict(env_prefix="LEDGERBRIDGE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, description="Where the SQLite file and keys live.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: a SQLite file in the data directory.",
    )
    base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="The public URL of this service; OAuth redirect URLs are built from it.",
    )
    secret_key_file: Path | None = Field(
        default=None,
        description="File holding the key that encrypts secrets at rest. Default: <data_dir>/secret.key",
    )
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=False, description="Log as JSON lines instead of console text.")
    session_days: int = Field(default=14, ge=1, description="How long a web sign-in lasts.")
    cookie_secure: bool | None = Field(
        default=None, description="Mark cookies Secure. Default: on when base_url is https."
    )

    run_jobs_in_web: bool = Field(
        default=True,
        description="Run background jobs (syncs, scheduled sends) inside the web process. Turn off "
        "when `ledgerbridge worker` runs them instead.",
    )
    push_debounce_seconds: float = Field(
        default=3.0,
        ge=0,
        le=300,
        description="How long after a saved change its organisation's push runs, where auto-sync is "
        "on for that record type: saves within this window go to Xero together, in one push.",
    )

    xero_sandbox_url: str | None = Field(
        default=None,
        description="Talk to a ledgerbridge sandbox at this URL instead of the real Xero hosts.",
    )
    xero_client_id: str | None = Field(
        default=None, description="The built-in app (e.g. the sandbox's demo app) used by workspaces "
        "that did not bring their own."
    )
    xero_client_secret: SecretStr | None = None
    xero_webhook_key: SecretStr | None = Field(
        default=None, description="The built-in app's webhooks key, to verify deliveries to /webhooks/xero."
    )
    xero_granular_scopes: bool = Field(
        default=False, description="Ask for Xero's granular accounting scopes instead of the broad ones."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("log_level must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def resolved_database_url(self) -> str:
        """The database URL, normalised so PostgreSQL URLs use the psycopg 3 driver."""
        url = self.database_url or f"sqlite:///{self.data_dir / 'ledgerbridge.sqlite3'}"
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url

    @property
    def resolved_secret_key_file(self) -> Path:
        return self.secret_key_file or self.data_dir / "secret.key"

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.startswith("https://")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
