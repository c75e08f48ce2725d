"""The partner feed folder, polled: each settled file in `<landing>/<partner>/` becomes an
upload of that partner, stored and queued exactly as `POST /partner/ingest?async=1` does.

The folder and its rules are the partner_feeds pipeline's (`PARTNER_FEEDS_DIR`, the settle
time, the size cap, `PARTNER_FEEDS_ARCHIVE_DIR`). A file is moved to the archive only after
its bytes are committed, so a poller stopped at any point loses nothing: the next poll finds
the file again, the checksum names the stored upload, and one never queued is queued then.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from connector_kit import files
from connector_kit.logs import kv
from connector_kit.pgtext import storable

from pipelines.partner_feeds.feeds import Feed
from pipelines.partner_feeds.pipeline import archive_feed, landing_feeds
from service.core.config import Settings
from service.core.db import Pool
from service.partners import queries
from service.partners.feeds import FORMATS, feeds_settings

log = logging.getLogger("service.partners.polling")
MEDIA_TYPES = {fmt: media for media, fmt in FORMATS.items()}


@dataclass
class PollReport:
    queued: int = 0  # new feeds, stored and queued
    duplicates: int = 0  # bytes the partner sent before
    refused: int = 0  # links, FIFOs, files over the size cap: archived as failed
    unknown_partner: int = 0  # folders of partners not onboarded: left in place


async def poll_feed_folder(
    pool: Pool, settings: Settings, queue_upload: Callable[[int], Awaitable[None]]
) -> PollReport:
    """One pass over the landing folder; `queue_upload(job_id)` defers the upload's job."""
    pipeline = feeds_settings()
    rules = files.FileRules(
        pipeline.settle_seconds, min(pipeline.max_file_bytes, settings.partner_feed_max_bytes)
    )
    feeds = await anyio.to_thread.run_sync(landing_feeds, pipeline.landing_dir, None, rules)
    report = PollReport()
    known: dict[str, bool] = {}
    for feed in feeds:
        if feed.partner not in known:
            async with pool.connection() as conn:
                known[feed.partner] = await queries.partner_exists(conn, storable(feed.partner))
        if not known[feed.partner]:
            report.unknown_partner += 1
            log.warning(
                "feed of a partner not onboarded, left in place %s",
                kv(partner=feed.partner, file=feed.name),
            )
            continue
        assert feed.path is not None  # landing feeds are files
        if feed.refused is not None:
            report.refused += 1
            log.warning(
                "feed refused %s", kv(partner=feed.partner, file=feed.name, reason=feed.refused)
            )
            await _archive(feed, pipeline.archive_dir, "failed", feed.refused)
            continue
        try:
            content = await anyio.to_thread.run_sync(_read, feed)
        except files.FileChanged as exc:
            log.info("feed changed, left for the next poll %s", kv(file=feed.path, error=exc))
            continue
        checksum = hashlib.sha256(content).hexdigest()
        async with pool.connection() as conn:  # committed before the file is moved
            media_type = MEDIA_TYPES[feed.format]
            job_id, new = await queries.store_upload(
                conn, feed.partner, checksum, media_type, content, source_file=storable(feed.name)
            )
            resume = not new and await queries.never_queued(conn, job_id)
        if new or resume:
            await queue_upload(job_id)
            report.queued += 1
            log.info("feed queued %s", kv(partner=feed.partner, file=feed.name, job_id=job_id))
        else:
            report.duplicates += 1
            log.info("feed duplicate %s", kv(partner=feed.partner, file=feed.name, job_id=job_id))
        await _archive(feed, pipeline.archive_dir, "received" if new or resume else "duplicate")
    return report


def _read(feed: Feed) -> bytes:
    """The file's bytes, checked to be the file that was listed (connector_kit.files)."""
    with feed.open() as fh:
        return fh.read()


async def _archive(
    feed: Feed, archive_dir: Path | None, status: str, reason: str | None = None
) -> None:
    """Out of the landing folder (kept there when no archive is set: its checksum is known)."""
    if archive_dir is not None and feed.path is not None:
        await anyio.to_thread.run_sync(archive_feed, feed.path, archive_dir, status, feed, reason)
