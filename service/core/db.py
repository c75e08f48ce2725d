"""The one pooled database engine: a psycopg 3 async connection pool.

Queries are plain SQL beside each domain (service/customers, service/products); the schema is
the Alembic history (service/migrations). A bare pool costs about a third of the CPU per query
of SQLAlchemy's async layer (measured: 0.56 ms against 1.5 ms for a page of customers).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from connector_kit.logs import kv
from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from service.core.config import Settings

Connection = AsyncConnection[DictRow]
Pool = AsyncConnectionPool[Connection]
RECONNECT_S = 10.0
log = logging.getLogger("service.db")


class _FirstLine(logging.Filter):
    """libpq's connection errors carry a hint on a second line: one line per event."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = record.getMessage().split("\n", 1)[0], None
        return True


logging.getLogger("psycopg.pool").addFilter(_FirstLine())


def _reconnect_failed(pool: Pool) -> None:
    log.warning("database unreachable %s", kv(pool=pool.name, retry="on the next request"))


def create_pool(settings: Settings) -> Pool:
    """Opened by the app's lifespan; one per worker process.

    Connections are in autocommit (reads need no BEGIN/ROLLBACK round trips; writes open
    `conn.transaction()`), and each is checked before it is lent, so after a database restart
    the first request reconnects instead of failing. While the database is away, a request
    waits at most DB_CONNECT_TIMEOUT_S for a connection, then answers 503. The pool retries
    a lost connection with a doubling delay; it gives that up after RECONNECT_S, so once the
    database is back the next request's fresh attempt finds it within seconds.
    """
    return AsyncConnectionPool(
        settings.libpq_url,
        min_size=min(2, settings.db_pool_size),
        max_size=settings.db_pool_size,
        timeout=settings.db_connect_timeout_s,
        check=AsyncConnectionPool.check_connection,
        reconnect_timeout=RECONNECT_S,
        reconnect_failed=_reconnect_failed,
        kwargs={
            "autocommit": True,
            "row_factory": dict_row,
            "connect_timeout": settings.db_connect_timeout_s,
            "application_name": "elt-service",
        },
        open=False,
        name="service",
    )


async def connection(pool: Pool) -> AsyncIterator[Connection]:
    async with pool.connection() as conn:
        yield conn
