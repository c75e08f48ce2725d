"""Partners, their key hashes, and the raw uploads in the service's Postgres."""

from __future__ import annotations

from typing import Any

import psycopg.errors

from service.core.db import Connection
from service.core.errors import Conflict
from service.partners.models import Upload

UPLOAD = (
    "id AS job_id, checksum, content_type, size_bytes, status, rows_loaded, rows_rejected,"
    " error, received_at, finished_at"
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
    conn: Connection, partner_id: str, checksum: str, content_type: str, content: bytes
) -> tuple[int, bool]:
    """Keep the raw feed (committed before anything else); (job id, True) if it is new,
    (the first upload's job id, False) when the partner sent these bytes before."""
    cursor = await conn.execute(
        "INSERT INTO partner_uploads (partner_id, checksum, content_type, size_bytes, content)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (partner_id, checksum) DO NOTHING RETURNING id",
        (partner_id, checksum, content_type, len(content), content),
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
