"""Processing one stored upload: the same code for `async=0` (in the request) and the queue's
`process_upload` task (in the worker)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from connector_kit.logs import error_line, mask

from pipelines.partner_feeds.ledger import FeedStatus
from service.core.config import Settings
from service.core.db import Pool
from service.core.errors import NotFound
from service.metrics import record_run
from service.partners import queries
from service.partners.feeds import FORMATS, feeds_settings, process_feed
from service.partners.models import UploadResult

FEED_LOAD_LOCK = 7_460_303  # pg advisory lock key: one partner feed load at a time
_feed_load = asyncio.Lock()  # in one process, one pooled connection waits for that lock


@asynccontextmanager
async def one_feed_load(pool: Pool) -> AsyncIterator[None]:
    """Loads share the pipeline's dlt folder and staging dataset: one at a time, across every
    web and worker process (a Postgres advisory lock, released if its holder dies)."""
    async with _feed_load, pool.connection() as conn:
        await conn.execute("SELECT pg_advisory_lock(%s)", (FEED_LOAD_LOCK,))
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock(%s)", (FEED_LOAD_LOCK,))


async def process_upload(
    pool: Pool, settings: Settings, job_id: int, attempt_id: int
) -> UploadResult:
    """Run the stored feed through the partner_feeds pipeline and record its result, on the
    upload and on its attempt together (a reader never sees one without the other).

    Rerunning a job is safe: the pipeline's own ledger skips a feed it has loaded already, and
    the job is recorded as loaded with that load's counts.
    """
    async with pool.connection() as conn:
        stored = await queries.stored_feed(conn, job_id)
    if stored is None:
        raise NotFound(f"job {job_id} not found")
    name = stored.source_file or f"upload-{job_id}.{FORMATS[stored.content_type]}"
    async with one_feed_load(pool):
        outcome = await anyio.to_thread.run_sync(
            process_feed, settings, stored.partner, name, stored.content
        )
    status, rows = str(outcome.status), (outcome.rows_loaded, outcome.rows_rejected)
    async with pool.connection() as conn, conn.transaction():
        if outcome.status == FeedStatus.DUPLICATE:
            # the catalog's ledger has this feed: an earlier attempt loaded it and then lost
            # its answer (its worker killed), so the job is loaded, with that load's counts
            loaded = await queries.ledger_counts(
                conn, feeds_settings().dataset_name, stored.partner, outcome.checksum
            )
            if loaded is not None:
                status, rows = str(FeedStatus.LOADED), loaded
        elif outcome.status == FeedStatus.LOADED:
            await record_run(conn, "partner_feeds", outcome.rows_loaded)
        await queries.finish_upload(
            conn,
            job_id,
            status=status,
            rows_loaded=rows[0],
            rows_rejected=rows[1],
            error=outcome.error,
        )
        await queries.finish_attempt(conn, attempt_id, status, outcome.error)
    return UploadResult(
        status=status,
        job_id=job_id,
        checksum=outcome.checksum,
        rows_loaded=rows[0],
        rows_rejected=rows[1],
        error=outcome.error,
    )


class TransientFailure(RuntimeError):
    """The feed could not be loaded this time (the destination did not answer): retry."""


async def attempt_upload(pool: Pool, settings: Settings, job_id: int) -> UploadResult:
    """One attempt at a job, recorded with its outcome and error (partner_job_attempts).

    An exception is recorded and raised again (the queue retries it with backoff).
    """
    async with pool.connection() as conn:
        number = len(await queries.attempts(conn, job_id)) + 1
        attempt_id = await queries.start_attempt(conn, job_id, number)
    try:
        return await process_upload(pool, settings, job_id, attempt_id)
    except Exception as exc:
        async with pool.connection() as conn:
            await queries.finish_attempt(conn, attempt_id, "error", mask(error_line(exc)))
        raise
