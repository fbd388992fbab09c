"""Settings from the environment (prefix FOLLOWUPS_). Built explicitly, never at import."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_database_url() -> str:
    return f"sqlite:///{Path(user_data_dir('followups')) / 'followups.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FOLLOWUPS_", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    # Bearer tokens are opaque random strings; only their SHA-256 is stored.
    token_ttl_days: int = Field(default=30, ge=1, le=3650)
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=10, ge=0, le=200)
    db_pool_timeout_s: float = Field(default=5.0, gt=0)
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
