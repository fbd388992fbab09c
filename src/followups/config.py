"""Settings from the environment (prefix FOLLOWUPS_). Built explicitly, never at import."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from platformdirs import user_data_dir
from pydantic import Field, field_validator
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
    # Bounds on the database, so a stuck one turns into 503 + Retry-After, never a hang
    # (PostgreSQL; SQLite's is sqlite_busy_timeout_ms). The first two are the server's own,
    # for the serving processes (the worker's sweeps and migrations may run longer): a
    # statement, and a wait for a lock (a migration's LOCK TABLE). The deadline is the
    # client's, on each wait for the server's answer, for when the server cannot answer at
    # all (frozen, SIGSTOP: its own timeouts never fire); past the statement timeout, so
    # the server's answer comes first when it can give one.
    db_connect_timeout_s: int = Field(default=5, ge=1)
    db_statement_timeout_s: float = Field(default=5.0, gt=0)
    db_lock_timeout_s: float = Field(default=5.0, gt=0)
    db_deadline_s: float = Field(default=6.0, gt=0)
    # Behind PgBouncer in transaction pooling, server-side prepared statements break (a
    # statement prepared on one server connection is missing on the next): true turns
    # psycopg's automatic preparing off.
    db_pgbouncer: bool = False
    # A streaming replica for the list reads (see followups.replica); unset: all on the primary.
    database_replica_url: str | None = None
    sqlite_busy_timeout_ms: int = Field(default=10_000, ge=0)
    # The SQLite WAL file: past this the worker checkpoints it and truncates it to nothing
    # (it otherwise grows while a reader is open during a write burst); also its
    # journal_size_limit.
    sqlite_wal_max_mb: int = Field(default=64, ge=1)
    # Digests, and bearer tokens expired or revoked, older than this are deleted by the worker.
    retention_days: int = Field(default=30, ge=1, le=3650)
    # Request bodies past this are refused with 413 before they are read.
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    # Who may create an account through POST /auth/register and the pages: "open",
    # "closed" (`followups user add` only) or "first-user-only" (open while there is no
    # account). Unset: see registration_mode.
    registration: Literal["open", "closed", "first-user-only"] | None = None
    # Failed logins allowed per account from one client address, and per client address
    # (limits' notation).
    login_limit_account: str = "10 per 15 minutes"
    login_limit_address: str = "100 per 15 minutes"
    # The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: addresses
    # or networks, comma-separated ("127.0.0.1", "10.0.0.0/8, ::1"). Unset: none, and the
    # client's address is the connection's peer (a forged header from a client is ignored).
    trusted_proxies: str = ""

    # Email (the daily digest). No host: digests stay in-app.
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "followups <followups@localhost>"
    # "starttls" (port 587), "ssl" (port 465) or "none" (a local relay).
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_timeout_s: float = Field(default=10.0, gt=0)

    # The worker.
    worker_interval_s: float = Field(default=5.0, gt=0)
    worker_batch: int = Field(default=1000, ge=1, le=100_000)
    delivery_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_timeout_s: float = Field(default=5.0, gt=0)  # connecting, and each read or write
    # One attempt of a delivery, whole (connect, headers, body; SMTP session): past this it
    # is cut off, recorded as failed and retried with backoff. A delivery's lease outlives it,
    # so no second worker takes an attempt still alive; SIGTERM exits within it.
    delivery_deadline_s: float = Field(default=10.0, gt=0, le=300)
    # Attempts at once in one worker process: in all, and to one receiver (scheme, host, port).
    delivery_concurrency: int = Field(default=16, ge=1, le=1000)
    delivery_per_host: int = Field(default=4, ge=1, le=1000)
    # Webhooks to loopback and private networks (a self-hosted home set-up); off, a webhook
    # URL must resolve to public addresses only (followups.outbound).
    webhook_allow_private: bool = False

    # The key that encrypts stored mailbox passwords (followups.mailbox.secret): any text,
    # or unset for a key file made with mode 0600 on first start at `secret_key_file`
    # (default: beside the SQLite file, or in the platform's data directory).
    secret_key: str | None = Field(default=None, repr=False)
    secret_key_file: str | None = None

    # The mailbox sync (a lane of the worker, in a process of its own).
    mailbox_sync_interval_s: float = Field(default=300.0, gt=0)
    mailbox_timeout_s: float = Field(default=20.0, gt=0)  # each socket operation
    mailbox_budget_s: float = Field(default=120.0, gt=0)  # one mailbox's whole sync
    mailbox_lookback_days: int = Field(default=90, ge=1, le=3650)  # the first sync reads back this far
    mailbox_threads: int = Field(default=4, ge=1, le=64)  # mailboxes synced at once
    mailbox_max_backoff_s: float = Field(default=3600.0, gt=0)
    # The mail lane's process runs at this much lower CPU priority (os.nice; 0: the same).
    mailbox_nice: int = Field(default=10, ge=0, le=19)
    # Reminders first: while the worker's reminders lane works, the mail lane pauses before
    # its next claim or chunk, a round of it at most this long in all (0: never pauses).
    mailbox_yield_s: float = Field(default=10.0, ge=0, le=300)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for item in filter(None, (part.strip() for part in value.split(","))):
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return [part.strip() for part in self.trusted_proxies.split(",") if part.strip()]

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def registration_mode(self) -> str:
        """FOLLOWUPS_REGISTRATION; unset, "first-user-only" on the embedded default database
        (no FOLLOWUPS_DATABASE_URL: `make run`, a single-user install, is no open sign-up
        page), else "open", the register contract of API.md (a taken email is 409)."""
        if self.registration is not None:
            return self.registration
        return "open" if "database_url" in self.model_fields_set else "first-user-only"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
