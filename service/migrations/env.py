"""Alembic environment: the database from `upgrade(url)` or DATABASE_URL; one transaction."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool, text

import service.customers.models
import service.products.models  # noqa: F401  (their tables join the metadata)
from service.core.config import database_url
from service.core.db import metadata
from service.migrations import LOCK_ID

config = context.config
raw_url = config.attributes.get("database_url") or os.environ.get("DATABASE_URL")
if not raw_url:
    raise SystemExit("DATABASE_URL is not set")
OWN_SCHEMAS = {None, service.customers.models.SCHEMA}


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Autogenerate compares only our schemas and tables (dlt keeps its own beside them)."""
    if type_ == "schema":
        return name in OWN_SCHEMAS
    if type_ == "table":
        return any(t.name == name for t in metadata.sorted_tables)
    return True


def run_offline() -> None:
    context.configure(
        url=database_url(raw_url).render_as_string(hide_password=False),
        target_metadata=metadata,
        literal_binds=True,
        include_schemas=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(database_url(raw_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=metadata,
            include_schemas=True,
            include_name=include_name,
        )
        # All pending revisions in one transaction (Postgres DDL is transactional), under an
        # advisory lock: the service and the offers pipeline may start at the same moment.
        with context.begin_transaction():
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
