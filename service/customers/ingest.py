"""POST /api/ingest: one run of the customers dlt pipeline into the service's Postgres.

One ingest at a time per database, whatever the number of service processes: the run holds a
Postgres advisory lock, and a call that finds it taken answers 409 at once rather than queueing
a second full run behind the first (the client retries when it has finished). dlt merges on
customer_id, so a rerun updates changed rows and never duplicates; a source that fails during
the extract leaves the loaded table as it was.
"""

from __future__ import annotations

import logging
from pathlib import Path

import anyio.to_thread
import psycopg2
from connector_kit.logs import kv
from dlt.destinations.exceptions import DestinationConnectionError
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.customers.pipeline import row_count, run
from pipelines.customers.settings import DEFAULT_DATASET, TABLE
from pipelines.dlt_project import data_dir
from service.core.config import Settings
from service.core.db import Pool
from service.core.errors import Conflict, DatabaseUnavailable, UpstreamFailed, first_line
from service.metrics import record_run

log = logging.getLogger("service.customers")
INGEST_LOCK = 7_460_302  # pg advisory lock key of the customers ingest


def pipelines_dir() -> Path:
    """The service's own dlt working folder: the CLI's `customers` pipeline loads to DuckDB."""
    return data_dir() / "service" / "pipelines"


def load_customers(settings: Settings) -> int:
    """Run the pipeline (blocking); the number of customer rows it loaded."""
    # `run` loads what an earlier run left pending first (or sets it aside when the database
    # refuses it), then this ingest's extract: nothing pending blocks it.
    try:
        info = run(
            settings.customers_api_url,
            destination="postgres",
            credentials=settings.libpq_url,
            dataset_name=DEFAULT_DATASET,
            pipelines_dir_=pipelines_dir(),
        )
    except PipelineStepFailed as exc:
        cause = _root(exc)
        if exc.step == "extract":
            raise UpstreamFailed(f"customer API failed: {_describe(cause)}") from None
        if isinstance(cause, psycopg2.OperationalError | DestinationConnectionError):
            raise DatabaseUnavailable(f"loading failed: {_describe(cause)}") from None
        raise
    return row_count(info, TABLE)


async def ingest(pool: Pool, settings: Settings) -> int:
    """Run the pipeline in a thread while holding the ingest lock; 409 when another run holds it."""
    async with pool.connection() as conn:
        locked = await (
            await conn.execute("SELECT pg_try_advisory_lock(%s) AS locked", (INGEST_LOCK,))
        ).fetchone()
        if not (locked and locked["locked"]):
            raise Conflict("an ingest is already running; call again when it has finished")
        try:
            log.info("ingest start %s", kv(source=settings.customers_api_url))
            # not abandoned on cancel: a client that hangs up does not release the lock early
            rows = await anyio.to_thread.run_sync(load_customers, settings)
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (INGEST_LOCK,))
        await record_run(conn, "customers", rows)
    log.info("ingest end %s", kv(records_processed=rows))
    return rows


def _root(exc: BaseException) -> BaseException:
    """The innermost cause: dlt wraps the HTTP or database error a few levels deep."""
    seen = set()
    while (exc.__cause__ or exc.__context__) is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return exc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {first_line(exc)}"
