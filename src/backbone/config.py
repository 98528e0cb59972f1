"""Settings, read from `BACKBONE_*` environment variables (or a `.env` file) with pydantic-settings.

Every setting has a safe default for a single developer machine; production sets the secrets.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

VAR_DIRECTORY = Path("var")
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIRECTORY / 'backbone.sqlite3'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BACKBONE_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL. SQLite (the default, a file under ./var/) or postgresql+psycopg://…",
    )
    sqlite_synchronous: Literal["FULL", "NORMAL"] = Field(
        default="FULL",
        description="FULL survives power loss after every commit; NORMAL (WAL) may lose the last ones.",
    )
    sqlite_busy_timeout_ms: int = Field(
        default=30_000,
        ge=100,
        le=600_000,
        description="How long a SQLite writer waits for another's lock before the try fails",
    )
    database_pool_size: int = Field(
        default=40, ge=1, le=200, description="Connections kept open: one per request thread (40 by default)"
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = Field(default=True, description="JSON lines (for machines) or a readable console")
    node_id: int = Field(default=0, ge=0, le=15, description="Distinct per process that writes ids")
    var_directory: Path = VAR_DIRECTORY
    operator_token: SecretStr | None = Field(
        default=None,
        description="Bearer token for the back-office API. Unset: one is generated under var/.",
    )

    simulated_clock_start: datetime | None = Field(
        default=None,
        description=(
            "Run on a simulated clock starting at this instant (ISO 8601 with a zone): time then "
            "moves only through POST /api/backoffice/v1/clock/advance. For demos and tests."
        ),
    )
    demo_market: bool = Field(
        default=False,
        description=(
            "Run the liquidity simulator inside `backbone serve` against the real venue, on a clock "
            "that starts at the next moment of continuous trading (09:00 KST of the next trading day "
            "when the market is shut) and runs in real time: a live market at any hour. `make run` "
            "turns it on. Ignored by the simulated clock's time (BACKBONE_SIMULATED_CLOCK_START)."
        ),
    )
    demo_market_commands_per_second: int = Field(
        default=200, ge=1, le=20_000, description="The demo market's order flow over all instruments"
    )
    journal_fsync: Literal["always", "group", "none"] = Field(
        default="group",
        description=(
            "When the venue's journal reaches the disk: every command (always), every group of "
            "commands before their results are published (group: survives a machine crash), or "
            "left to the operating system (none: survives a process crash only)."
        ),
    )
    securities_tax_ppm: int = Field(
        default=2_000,
        ge=0,
        le=10_000,
        description=(
            "Securities transaction tax on sales, in parts per million of the sale value "
            "(2,000 = 0.20%, the rate from 2026). Commission is set per firm."
        ),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Encrypts the certificate authority's private key at rest and keys the HMACs of one-time "
            "codes and CSRF tokens. Unset: one is generated under var/ (owner-only). Keep it: a new "
            "key cannot decrypt the authority made with the old one."
        ),
    )
    cookie_secure: bool = Field(
        default=True,
        description="Mark the portal's cookies Secure (HTTPS only). Turn off only for plain-http testing.",
    )
    webauthn_rp_id: str = Field(
        default="localhost", description="The WebAuthn relying party id: the portal's host name"
    )
    webauthn_rp_name: str = "Backbone"
    webauthn_origins: list[str] = Field(
        default=["http://localhost:8000"], description="Origins the portal is served from, for WebAuthn"
    )
    public_url: str = Field(
        default="http://localhost:8000",
        description=(
            "The address apps and browsers use to reach this server: the OAuth issuer, in tokens "
            "and in authorization responses (iss)."
        ),
    )
    webhook_worker: bool = Field(
        default=True, description="Deliver the open platform's webhooks from a thread in `backbone serve`"
    )
    platform_firm_timeout_ms: int = Field(
        default=2_000,
        ge=50,
        le=60_000,
        description="How long the open platform waits for a firm's HTTP API, per attempt",
    )
    identity_adapters: Literal["development"] = Field(
        default="development",
        description=(
            "SMS, e-mail, identity provider and ARS adapters. 'development' delivers into the outbox "
            "(`backbone outbox list`) and enables the /api/v1/identity/dev endpoints."
        ),
    )

    @field_validator("database_url")
    @classmethod
    def _known_engine(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql")):
            raise ValueError("BACKBONE_DATABASE_URL must name SQLite or PostgreSQL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; a bare postgresql:// would look for psycopg2.
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value
