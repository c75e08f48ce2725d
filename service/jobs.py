"""The durable job queue (procrastinate, in the service's Postgres) and its tasks.

The web process defers jobs on its own pool; the worker (`python -m service.worker`) runs
them. A task calls the same code as the request that does the work synchronously.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import procrastinate
from connector_kit.logs import kv

from service.core.config import Settings
from service.core.db import Pool
from service.partners.processing import process_upload

log = logging.getLogger("service.jobs")
FEEDS_QUEUE = "feeds"

# Exponential backoff: 2, 4, 8, 16 s between the five attempts (procrastinate keeps each
# attempt's outcome in procrastinate_events; the error is in the worker's log line).
FEED_RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)

queue = procrastinate.App(connector=procrastinate.PsycopgConnector())


@dataclass
class Runtime:
    """What tasks need in the worker process: set by service.worker before it runs."""

    settings: Settings
    pool: Pool


runtime: Runtime | None = None


@queue.task(name="process_upload", queue=FEEDS_QUEUE, retry=FEED_RETRY)
async def process_upload_task(job_id: int) -> None:
    if runtime is None:
        raise RuntimeError("the worker did not set service.jobs.runtime")
    result = await process_upload(runtime.pool, runtime.settings, job_id)
    log.info(
        "feed processed %s",
        kv(
            job_id=job_id,
            status=result.status,
            rows_loaded=result.rows_loaded,
            rows_rejected=result.rows_rejected,
        ),
    )
