"""Alembic environment: the database from `upgrade(url)` or DATABASE_URL; one transaction.

Revisions are written by hand (`alembic -c service/alembic.ini revision --rev-id 0004 -m ...`):
the service queries with SQL, so there is no model metadata to autogenerate from.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool, text

from service.core.config import database_url
from service.migrations import LOCK_ID

config = context.config
raw_url: str = config.attributes.get("database_url") or os.environ.get("DATABASE_URL") or ""
if not raw_url:
    raise SystemExit("DATABASE_URL is not set")


def run_offline() -> None:
    """`alembic upgrade head --sql`: the SQL to apply, for review."""
    context.configure(url=database_url(raw_url).render_as_string(hide_password=False))
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(database_url(raw_url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn)
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
