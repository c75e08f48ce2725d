"""`python -m service.worker`: runs the queue's jobs (procrastinate worker) until stopped."""

from __future__ import annotations

import asyncio
import logging
import sys

import anyio.to_thread
from connector_kit import logs
from connector_kit.logs import kv

from service import jobs
from service.core.config import SettingsError, load_settings
from service.core.db import create_pool
from service.main import upgrade_schema

log = logging.getLogger("service.worker")


async def run() -> None:
    settings = load_settings()
    logs.configure(settings.log_level)
    await anyio.to_thread.run_sync(upgrade_schema, settings)  # the worker may start first
    pool = create_pool(settings)
    await pool.open()
    jobs.runtime = jobs.Runtime(settings, pool)
    if settings.sync_schedule:
        jobs.schedule_offers_sync(settings.sync_schedule)
        log.info("offers sync scheduled %s", kv(schedule=settings.sync_schedule))
    if settings.partner_feeds_poll_schedule:
        jobs.schedule_feed_polling(settings.partner_feeds_poll_schedule)
        log.info("partner feed folder polled %s", kv(schedule=settings.partner_feeds_poll_schedule))
    try:
        async with jobs.queue.open_async(pool):
            stalled_after = settings.worker_stalled_after_s
            await jobs.retry_stalled_jobs(stalled_after)  # what a killed worker left
            await jobs.queue_orphaned_uploads(pool, settings.upload_orphaned_after_s)
            log.info("worker ready")
            await jobs.queue.run_worker_async(
                queues=jobs.QUEUES,
                install_signal_handlers=True,
                update_heartbeat_interval=stalled_after / 3,
                stalled_worker_timeout=stalled_after,
            )
    finally:
        await pool.close()


def main() -> int:
    try:
        asyncio.run(run())
    except SettingsError as exc:
        logs.configure()
        log.error("%s", exc)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
