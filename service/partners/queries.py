"""Partners, their key hashes, and the raw uploads in the service's Postgres."""

from __future__ import annotations

from typing import Any

import psycopg.errors
from psycopg import sql

from pipelines.partner_feeds.ledger import FeedStatus
from pipelines.partner_feeds.settings import LEDGER_TABLE
from service.core.db import Connection
from service.core.errors import Conflict
from service.partners.models import StoredFeed, Upload

UPLOAD = (
    "id AS job_id, checksum, content_type, size_bytes, source_file, status, rows_loaded,"
    " rows_rejected, error, received_at, finished_at"
)


async def create_partner(conn: Connection, partner_id: str, name: str, key_hash: str) -> Any:
    try:
        cursor = await conn.execute(
            "INSERT INTO partners (id, name, key_hash) VALUES (%s, %s, %s)"
            " RETURNING id, name, key_issued_at",
            (partner_id, name, key_hash),
        )
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"partner {partner_id} exists already") from None
    return await cursor.fetchone()


async def set_key(conn: Connection, partner_id: str, key_hash: str | None) -> Any:
    """A new key hash (rotation) or none (revocation: the old key fails at once)."""
    cursor = await conn.execute(
        "UPDATE partners SET key_hash = %s, key_issued_at = now(),"
        " revoked_at = CASE WHEN %s::text IS NULL THEN now() END"
        " WHERE id = %s RETURNING id, name, key_issued_at",
        (key_hash, key_hash, partner_id),
    )
    return await cursor.fetchone()


async def partner_by_key(conn: Connection, key_hash: str) -> str | None:
    row = await (
        await conn.execute("SELECT id FROM partners WHERE key_hash = %s", (key_hash,))
    ).fetchone()
    return str(row["id"]) if row else None


async def store_upload(
    conn: Connection,
    partner_id: str,
    checksum: str,
    content_type: str,
    content: bytes,
    *,
    source_file: str | None = None,
) -> tuple[int, bool]:
    """Keep the raw feed (committed before anything else); (job id, True) if it is new,
    (the first upload's job id, False) when the partner sent these bytes before.

    `source_file`: the landing file's name, for a feed polled from the folder."""
    cursor = await conn.execute(
        "INSERT INTO partner_uploads"
        " (partner_id, checksum, content_type, size_bytes, content, source_file)"
        " VALUES (%s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (partner_id, checksum) DO NOTHING RETURNING id",
        (partner_id, checksum, content_type, len(content), content, source_file),
    )
    row = await cursor.fetchone()
    if row:
        return int(row["id"]), True
    first = await (
        await conn.execute(
            "SELECT id FROM partner_uploads WHERE partner_id = %s AND checksum = %s",
            (partner_id, checksum),
        )
    ).fetchone()
    assert first is not None  # the conflicting row exists: uploads are never deleted
    return int(first["id"]), False


async def partner_exists(conn: Connection, partner_id: str) -> bool:
    cursor = await conn.execute("SELECT 1 FROM partners WHERE id = %s", (partner_id,))
    return await cursor.fetchone() is not None


async def orphaned_uploads(conn: Connection, older_than_s: float) -> list[int]:
    """Uploads stored but neither queued nor finished, and untouched for `older_than_s`: their
    web process died between storing and queueing, or during an `async=0` run."""
    cursor = await conn.execute(
        "SELECT u.id FROM partner_uploads u WHERE u.status = 'received'"
        " AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j"
        "   WHERE j.task_name = 'process_upload' AND (j.args->>'job_id')::bigint = u.id)"
        " AND greatest(u.received_at, (SELECT max(a.started_at) FROM partner_job_attempts a"
        "   WHERE a.job_id = u.id)) < now() - make_interval(secs => %s)"
        " ORDER BY u.id",
        (older_than_s,),
    )
    return [int(row["id"]) for row in await cursor.fetchall()]


async def never_queued(conn: Connection, job_id: int) -> bool:
    """A polled feed stored but not queued (the poller stopped in between): it is queued now.

    HTTP uploads are left out: an `async=0` upload runs in its request, without a queue job."""
    cursor = await conn.execute(
        "SELECT 1 FROM partner_uploads u WHERE u.id = %s AND u.status = 'received'"
        " AND u.source_file IS NOT NULL AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs j"
        "   WHERE j.task_name = 'process_upload' AND (j.args->>'job_id')::bigint = u.id)",
        (job_id,),
    )
    return await cursor.fetchone() is not None


async def finish_upload(
    conn: Connection,
    job_id: int,
    *,
    status: str,
    rows_loaded: int,
    rows_rejected: int,
    error: str | None,
) -> None:
    await conn.execute(
        "UPDATE partner_uploads SET status = %s, rows_loaded = %s, rows_rejected = %s,"
        " error = %s, finished_at = now() WHERE id = %s",
        (status, rows_loaded, rows_rejected, error, job_id),
    )


async def ledger_counts(
    conn: Connection, dataset: str, partner_id: str, checksum: str
) -> tuple[int, int] | None:
    """(rows loaded, rows rejected) of the load the catalog's ledger records for this feed."""
    try:
        async with conn.transaction():  # a savepoint inside the caller's transaction
            cursor = await conn.execute(
                sql.SQL(
                    "SELECT rows_loaded, rows_rejected FROM {} WHERE partner = %s AND checksum = %s"
                    " AND status = %s ORDER BY imported_at LIMIT 1"
                ).format(sql.Identifier(dataset, LEDGER_TABLE)),
                (partner_id, checksum, str(FeedStatus.LOADED)),
            )
    except psycopg.errors.UndefinedTable:
        return None
    row = await cursor.fetchone()
    return (int(row["rows_loaded"]), int(row["rows_rejected"])) if row else None


async def upload(conn: Connection, job_id: int) -> Upload | None:
    row = await (
        await conn.execute(f"SELECT {UPLOAD} FROM partner_uploads WHERE id = %s", (job_id,))
    ).fetchone()
    return Upload.model_validate(row) if row else None


async def uploads_of(conn: Connection, partner_id: str, limit: int) -> list[Upload]:
    cursor = await conn.execute(
        f"SELECT {UPLOAD} FROM partner_uploads WHERE partner_id = %s ORDER BY id DESC LIMIT %s",
        (partner_id, limit),
    )
    return [Upload.model_validate(row) for row in await cursor.fetchall()]


async def stored_feed(conn: Connection, job_id: int) -> StoredFeed | None:
    """An upload's partner, content type, raw bytes and landing file name."""
    row = await (
        await conn.execute(
            "SELECT partner_id, content_type, content, source_file FROM partner_uploads"
            " WHERE id = %s",
            (job_id,),
        )
    ).fetchone()
    if row is None:
        return None
    return StoredFeed(
        row["partner_id"], row["content_type"], bytes(row["content"]), row["source_file"]
    )


async def mark_queued(conn: Connection, job_id: int) -> None:
    await conn.execute(
        "UPDATE partner_uploads SET status = 'queued' WHERE id = %s AND status = 'received'",
        (job_id,),
    )


JOB = (
    "u.id AS job_id, u.partner_id AS partner, u.status, u.rows_loaded, u.rows_rejected, u.error,"
    " u.received_at, u.finished_at, q.status::text AS queue_status, q.attempts"
)
# The upload and its latest queue job (none for async=0 uploads).
JOBS_FROM = (
    " FROM partner_uploads u LEFT JOIN LATERAL ("
    "   SELECT status, attempts FROM procrastinate_jobs"
    "   WHERE task_name = 'process_upload' AND (args->>'job_id')::bigint = u.id"
    "   ORDER BY id DESC LIMIT 1) q ON true"
)


async def jobs(
    conn: Connection, status: str | None, partner: str | None, limit: int
) -> list[dict[str, Any]]:
    cursor = await conn.execute(
        f"SELECT {JOB}{JOBS_FROM}"
        " WHERE (%s::text IS NULL OR u.status = %s) AND (%s::text IS NULL OR u.partner_id = %s)"
        " ORDER BY u.id DESC LIMIT %s",
        (status, status, partner, partner, limit),
    )
    return list(await cursor.fetchall())


async def job(conn: Connection, job_id: int) -> dict[str, Any] | None:
    cursor = await conn.execute(f"SELECT {JOB}{JOBS_FROM} WHERE u.id = %s", (job_id,))
    return await cursor.fetchone()


async def requeue(conn: Connection, job_id: int) -> str | None:
    """Mark an unfinished or failed upload queued again; its status before, None if missing."""
    row = await (
        await conn.execute(
            "UPDATE partner_uploads u SET status = 'queued', error = NULL, finished_at = NULL"
            " FROM partner_uploads old WHERE u.id = old.id AND u.id = %s AND u.status <> 'loaded'"
            " RETURNING old.status",
            (job_id,),
        )
    ).fetchone()
    if row:
        return str(row["status"])
    existing = await (
        await conn.execute("SELECT status FROM partner_uploads WHERE id = %s", (job_id,))
    ).fetchone()
    return str(existing["status"]) if existing else None


async def start_attempt(conn: Connection, job_id: int, attempt: int) -> int:
    row = await (
        await conn.execute(
            "INSERT INTO partner_job_attempts (job_id, attempt) VALUES (%s, %s) RETURNING id",
            (job_id, attempt),
        )
    ).fetchone()
    assert row is not None
    return int(row["id"])


async def finish_attempt(
    conn: Connection, attempt_id: int, outcome: str, error: str | None
) -> None:
    await conn.execute(
        "UPDATE partner_job_attempts SET finished_at = now(), outcome = %s, error = %s"
        " WHERE id = %s",
        (outcome, error, attempt_id),
    )


async def attempts(conn: Connection, job_id: int) -> list[dict[str, Any]]:
    """Every attempt of a job, oldest first (an attempt without an end: its worker died)."""
    cursor = await conn.execute(
        "SELECT attempt, started_at, finished_at, outcome, error FROM partner_job_attempts"
        " WHERE job_id = %s ORDER BY id",
        (job_id,),
    )
    return list(await cursor.fetchall())
