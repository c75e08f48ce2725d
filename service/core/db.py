"""The one pooled database engine (SQLAlchemy 2.0 async over psycopg 3) and its connections."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from service.core.config import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """One engine per worker process.

    `pool_pre_ping` tests a pooled connection before lending it, so after a database restart
    the first request reconnects instead of failing; `connect_timeout` bounds how long a
    request waits for a database that is away before it answers 503.
    """
    return create_async_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_connect_timeout_s,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_s,
            "application_name": "elt-service",
        },
    )


async def read_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in autocommit: reads need no BEGIN/ROLLBACK round trips."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


async def write_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection in a transaction, committed when the request's work returns."""
    async with engine.begin() as conn:
        yield conn


# The service's tables, declared per domain (service/customers, service/products) on this
# metadata; Alembic (service/migrations) owns their history.
metadata = MetaData()
