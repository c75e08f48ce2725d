"""The service's one settings object, read from the environment under the seeds' names.

An exported variable wins over `.env` (pydantic-settings' order). `make serve` fills the unset
ones from the sandbox; `python -m service` alone needs them set, and names what is missing.
"""

from __future__ import annotations

from functools import cached_property

import croniter
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

# DATABASE_URL schemes accepted (the seeds use the first three), all served by psycopg 3.
DATABASE_SCHEMES = frozenset(
    {"postgres", "postgresql", "postgresql+asyncpg", "postgresql+psycopg", "postgresql+psycopg2"}
)


def seconds_last(schedule: str) -> str:
    """The seed's 6-field cron (seconds first) in croniter's order (seconds last)."""
    fields = schedule.split()
    if len(fields) != 6:
        raise ValueError("must have 6 fields: second minute hour day month weekday")
    return " ".join(fields[1:] + fields[:1])


class SettingsError(Exception):
    """A required setting is missing or invalid; the message names the variables."""


def database_url(raw: str) -> URL:
    """Any accepted DATABASE_URL form as a SQLAlchemy URL for psycopg 3.

    `postgres://` (Heroku/Render style) and asyncpg URLs are normalised; asyncpg's `ssl=`
    query option becomes libpq's `sslmode=`.
    """
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in DATABASE_SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(sorted(DATABASE_SCHEMES))}")
    url = make_url("postgresql" + raw[len(scheme) :]).set(drivername="postgresql+psycopg")
    query = dict(url.query)
    if "ssl" in query:
        query.setdefault("sslmode", query.pop("ssl"))
        url = url.set(query=query)
    return url


def libpq_url(url: URL) -> str:
    """The same database as a plain `postgresql://` URL (dlt, psycopg2), password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    database_url: str = Field(description="Postgres of the service (customers, products, offers)")
    customers_api_url: str = Field(description="Base URL of the customer API ingested from")
    offers_service_url: str = Field(description="Base URL of the offers service")
    offers_refresh_token: SecretStr = Field(description="Refresh token of the offers service")
    service_api_key: SecretStr = Field(description="X-API-Key that writes and /api/ingest need")
    admin_api_key: SecretStr | None = Field(
        None, description="X-Admin-Key of the partner admin endpoints (unset: they answer 503)"
    )
    app_secret_key: SecretStr | None = Field(
        None, description="Server secret that partner API keys are hashed with (HMAC-SHA256)"
    )
    service_env: str = Field(
        "prod", description="dev: the /admin session cookie also works over plain http (no Secure)"
    )
    partner_feed_max_bytes: int = Field(
        50 * 1024 * 1024, ge=1, description="Largest feed POST /partner/ingest accepts"
    )
    sync_schedule: str = Field(
        "", description="Offers sync as a periodic job: 6-field cron, seconds first; empty: off"
    )
    partner_feeds_poll_schedule: str = Field(
        "",
        description="Polling of the partner feed folder (PARTNER_FEEDS_DIR) as a periodic job: "
        "6-field cron, seconds first; empty: off",
    )
    worker_stalled_after_s: float = Field(
        30.0,
        ge=1,
        description="A job whose worker has sent no heartbeat for this long is run again",
    )
    upload_orphaned_after_s: float = Field(
        900.0,
        ge=1,
        description="An upload stored but neither queued nor finished for this long (its web "
        "process died) is queued by the worker",
    )
    log_level: str = Field("INFO", description="DEBUG adds stack traces to error lines")
    service_host: str = Field("127.0.0.1", description="Interface to listen on")
    service_port: int = Field(8080, ge=1, le=65535, description="Port to listen on")
    service_workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    db_pool_size: int = Field(10, ge=1, description="Pooled connections per worker")
    db_connect_timeout_s: int = Field(5, ge=1, description="Give up connecting after this")
    offers_register_timeout_s: float = Field(
        10.0, gt=0, description="How long POST /products waits for the offers service"
    )

    @field_validator("database_url")
    @classmethod
    def _accepted_scheme(cls, value: str) -> str:
        database_url(value)  # raises ValueError naming the accepted schemes
        return value

    @field_validator("sync_schedule", "partner_feeds_poll_schedule")
    @classmethod
    def _six_fields(cls, value: str) -> str:
        if value.strip():
            croniter.croniter(seconds_last(value))  # raises ValueError on a bad expression
        return value.strip()

    @field_validator("service_api_key", "offers_refresh_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @cached_property
    def database(self) -> URL:
        """DATABASE_URL normalised (SQLAlchemy form, for Alembic)."""
        return database_url(self.database_url)

    @cached_property
    def libpq_url(self) -> str:
        return libpq_url(self.database)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; SettingsError names every missing or invalid variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = [
            f"{str(error['loc'][0]).upper()} ({'not set' if error['type'] == 'missing' else error['msg']})"
            for error in exc.errors()
        ]
        raise SettingsError("settings missing or invalid: " + ", ".join(problems)) from None
