"""Connection settings -> a SQLAlchemy URL for the SDK and psycopg2 connections for COPY."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg2
from connector_kit import retry
from connector_kit.logs import register_secret
from psycopg2.extensions import connection as Connection
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sql import SQLConnector
from typing_extensions import override


def libpq_url(config: dict[str, Any]) -> str:
    """`database_url`, else the parts, else $DATABASE_URL, as a plain postgresql:// URL."""
    url = config.get("database_url")
    if not url and config.get("host"):
        user = quote(config.get("user") or "postgres", safe="")
        password = config.get("password")
        auth = f"{user}:{quote(password, safe='')}" if password else user
        host, port = config["host"], config.get("port") or 5432
        url = f"postgresql://{auth}@{host}:{port}/{config.get('database') or 'postgres'}"
        if config.get("sslmode"):
            url += f"?sslmode={config['sslmode']}"
    url = url or os.environ.get("DATABASE_URL")
    if not url:
        msg = "no connection: set database_url, or host (+ port, user, password, database), "
        msg += "or DATABASE_URL"
        raise ConfigValidationError(msg)
    parts = urlsplit(url)
    if parts.password:
        register_secret(parts.password)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in {"postgresql", "postgres"}:
        msg = f"database_url must be a postgresql:// URL, got scheme {parts.scheme!r}"
        raise ConfigValidationError(msg)
    return urlunsplit(("postgresql", *parts[1:]))


# a server restarting or a dropped connection: retried (the batch transaction is atomic)
TRANSIENT = (psycopg2.OperationalError, psycopg2.InterfaceError)


def connect(config: dict[str, Any], application_name: str = "target-postgres") -> Connection:
    """A psycopg2 connection in UTC, so naive timestamps mean UTC and output is stable."""
    url = libpq_url(config)
    return retry.policy(attempts=5, retry_on=TRANSIENT)(
        psycopg2.connect, url, options="-c TimeZone=UTC", application_name=application_name
    )


class PostgresConnector(SQLConnector):
    """The SDK's connector, only for what SQLTarget expects; loading uses psycopg2 directly."""

    allow_column_add = True
    allow_column_alter = True
    allow_merge_upsert = True
    allow_temp_tables = True

    @override
    def get_sqlalchemy_url(self, config: dict[str, Any]) -> str:
        return libpq_url(config).replace("postgresql://", "postgresql+psycopg2://", 1)
