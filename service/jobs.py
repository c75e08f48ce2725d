"""The durable job queue (procrastinate, in the service's Postgres) and its tasks.

The web process defers jobs on its own pool; the worker (`python -m service.worker`) runs
them. A task calls the same code as the request that does the work synchronously.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import procrastinate
from connector_kit.logs import error_line, kv, mask

from ops import replay as replays
from pipelines.dlt_project import data_dir
from pipelines.offers.pipeline import run as run_offers
from pipelines.offers.pipeline import token_cache_file
from pipelines.offers.sync import ProductOutcome, SyncSettings
from service.core.config import Settings, seconds_last
from service.core.db import Connection, Pool
from service.metrics import record_run
from service.partners import queries
from service.partners.polling import poll_feed_folder
from service.partners.processing import TransientFailure, attempt_upload

log = logging.getLogger("service.jobs")
FEEDS_QUEUE = "feeds"
OFFERS_QUEUE = "offers"
OPS_QUEUE = "ops"
QUEUES = [FEEDS_QUEUE, OFFERS_QUEUE, OPS_QUEUE]

# Exponential backoff: 2, 4, 8, 16 s between the five attempts (procrastinate keeps each
# attempt's outcome in procrastinate_events; a feed's attempts and errors: partner_job_attempts).
FEED_RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)
SYNC_RETRY = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=2)
REPLAY_RETRY = procrastinate.RetryStrategy(max_attempts=3, exponential_wait=2)

queue = procrastinate.App(connector=procrastinate.PsycopgConnector())


@dataclass
class Runtime:
    """What tasks need in the worker process: set by service.worker before it runs."""

    settings: Settings
    pool: Pool


runtime: Runtime | None = None


def _runtime() -> Runtime:
    if runtime is None:
        raise RuntimeError("the worker did not set service.jobs.runtime")
    return runtime


@queue.task(name="process_upload", queue=FEEDS_QUEUE, retry=FEED_RETRY)
async def process_upload_task(job_id: int, request_id: str | None = None) -> None:
    """One attempt at an uploaded feed; `request_id` is the upload's, carried into the logs."""
    rt = _runtime()
    rid = request_id or "-"
    log.info("feed processing %s", kv(job_id=job_id, request_id=rid))
    try:
        result = await attempt_upload(rt.pool, rt.settings, job_id)
    except Exception as exc:
        log.warning(
            "feed attempt failed %s", kv(job_id=job_id, request_id=rid, error=mask(error_line(exc)))
        )
        raise
    log.info(
        "feed processed %s",
        kv(
            job_id=job_id,
            request_id=rid,
            status=result.status,
            rows_loaded=result.rows_loaded,
            rows_rejected=result.rows_rejected,
        ),
    )
    if result.status == "pending":  # the load did not go through: the queue retries
        raise TransientFailure(result.error or f"job {job_id}: the feed's load did not finish")


async def queue_upload(pool: Pool, job_id: int, request_id: str | None) -> None:
    """Defer a stored upload's job; the upload shows `queued` unless the worker has finished it."""
    await process_upload_task.defer_async(job_id=job_id, request_id=request_id)
    async with pool.connection() as conn:
        await queries.mark_queued(conn, job_id)


# One poll at a time: a schedule firing while one is still queued does not pile up another.
@queue.task(name="poll_partner_feeds", queue=FEEDS_QUEUE, queueing_lock="poll_partner_feeds")
async def poll_partner_feeds_task(timestamp: int | None = None) -> None:
    """Each settled file of the partner feed folder stored and queued as an upload."""
    rt = _runtime()
    request_id = f"poll-{timestamp or 'now'}"

    async def queue_one(job_id: int) -> None:
        await queue_upload(rt.pool, job_id, request_id)

    report = await poll_feed_folder(rt.pool, rt.settings, queue_one)
    log.info("feed folder polled %s", kv(request_id=request_id, **vars(report)))


def run_offers_sync(settings: Settings) -> list[ProductOutcome]:
    """One run of the offers pipeline into the service's database (blocking)."""
    return run_offers(
        SyncSettings(
            service_url=settings.offers_service_url,
            refresh_token=settings.offers_refresh_token.get_secret_value(),
            database_url=settings.libpq_url,
            token_cache=token_cache_file(),  # the token the service's registrations use
        ),
        pipelines_dir_=data_dir() / "service" / "pipelines",
    )


# One sync at a time: a schedule firing while one is still queued does not pile up another.
@queue.task(name="sync_offers", queue=OFFERS_QUEUE, retry=SYNC_RETRY, queueing_lock="sync_offers")
async def sync_offers_task(timestamp: int | None = None) -> None:
    rt = _runtime()
    outcomes = await anyio.to_thread.run_sync(run_offers_sync, rt.settings)
    async with rt.pool.connection() as conn:
        await record_run(conn, "offers", sum(o.inserted + o.updated for o in outcomes))
    failed = [o.product_id for o in outcomes if o.status == "failed"]
    log.info("offers synced %s", kv(products=len(outcomes), failed=len(failed)))


async def retry_stalled_jobs(stalled_after_s: float) -> int:
    """Queue again every job whose worker stopped sending heartbeats (killed, host lost).

    The worker does it (and `queue_orphaned_uploads`) when it starts and then every minute
    (task `retry_stalled_jobs`);
    a rerun loads nothing twice (the feed's checksum ledger).
    """
    manager = queue.job_manager
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s))
    for job in stalled:
        await manager.retry_job(job)
        log.warning(
            "stalled job queued again %s",
            kv(queue_job=job.id, task=job.task_name, attempts=job.attempts),
        )
    await manager.prune_stalled_workers(seconds_since_heartbeat=stalled_after_s)
    return len(stalled)


async def queue_orphaned_uploads(pool: Pool, older_than_s: float) -> int:
    """Queue every upload that was stored but never queued or finished (its web process died
    in between): an accepted feed is processed even if nobody sends it again."""
    async with pool.connection() as conn:
        orphans = await queries.orphaned_uploads(conn, older_than_s)
    for job_id in orphans:
        await queue_upload(pool, job_id, None)
        log.warning("orphaned upload queued %s", kv(job_id=job_id))
    return len(orphans)


@queue.periodic(cron="* * * * *", periodic_id="retry_stalled_jobs")
@queue.task(name="retry_stalled_jobs", queue=FEEDS_QUEUE, queueing_lock="retry_stalled_jobs")
async def retry_stalled_jobs_task(timestamp: int) -> None:
    rt = _runtime()
    await retry_stalled_jobs(rt.settings.worker_stalled_after_s)
    await queue_orphaned_uploads(rt.pool, rt.settings.upload_orphaned_after_s)


@queue.task(name="replay_dead_letters", queue=OPS_QUEUE, retry=REPLAY_RETRY)
async def replay_task(flow: str, ids: list[str] | None = None) -> None:
    """A dead-letter replay started from the console (ops.replay, the worker's environment).

    A replay that could not run (ReplayError) is retried; one that ran is done, whether every
    entry was delivered or some still fail (those stay in the file with their new reason).
    """
    outcome = await anyio.to_thread.run_sync(replays.replay, flow, ids or None)
    log.info("replay done %s", outcome.line())


async def replay_jobs(conn: Connection, limit: int = 20) -> list[dict[str, Any]]:
    """The latest replay jobs on the queue, newest first, with when they were deferred."""
    cursor = await conn.execute(
        "SELECT j.id, j.status::text AS status, j.attempts, j.args->>'flow' AS flow,"
        " jsonb_array_length(COALESCE(NULLIF(j.args->'ids', 'null'), '[]')) AS entries,"
        " (SELECT min(e.at) FROM procrastinate_events e"
        "   WHERE e.job_id = j.id AND e.type = 'deferred') AS deferred_at"
        " FROM procrastinate_jobs j WHERE j.task_name = 'replay_dead_letters'"
        " ORDER BY j.id DESC LIMIT %s",
        (limit,),
    )
    return list(await cursor.fetchall())


def schedule_offers_sync(schedule: str) -> None:
    """SYNC_SCHEDULE as a periodic task of the queue (deferred by the worker)."""
    queue.periodic(cron=seconds_last(schedule), periodic_id="sync_schedule")(sync_offers_task)


def schedule_feed_polling(schedule: str) -> None:
    """PARTNER_FEEDS_POLL_SCHEDULE as a periodic task of the queue (deferred by the worker)."""
    queue.periodic(cron=seconds_last(schedule), periodic_id="partner_feeds_poll")(
        poll_partner_feeds_task
    )
