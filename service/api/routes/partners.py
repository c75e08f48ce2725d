"""Partner catalog ingest (partner-catalog-ingest.md): onboarding and keys (admin), uploads."""

from __future__ import annotations

import hashlib
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, status

from service.api.deps import DB, AdminKey, AppSecret, PartnerDep, PoolDep, SettingsDep
from service.core.errors import (
    NotFound,
    NotImplementedYet,
    PayloadTooLarge,
    UnprocessableFeed,
    UnsupportedMediaType,
    responses,
)
from service.core.security import new_partner_key, partner_key_hash
from service.partners import queries
from service.partners.feeds import FORMATS, process_feed
from service.partners.models import PARTNER_ID, PartnerIn, PartnerKey, Upload, UploadResult

router = APIRouter(prefix="/partner", tags=["partners"], responses=responses(401, 422, 503))
PartnerId = Annotated[str, Path(pattern=PARTNER_ID)]


@router.post(
    "/partners",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminKey],
    responses=responses(400, 409),
    summary="Onboard a partner; its API key is in this answer and nowhere else",
)
async def onboard(data: PartnerIn, db: DB, secret: AppSecret) -> PartnerKey:
    key = new_partner_key()
    row = await queries.create_partner(db, data.id, data.name, partner_key_hash(key, secret))
    return PartnerKey(**row, api_key=key)


@router.post(
    "/partners/{partner_id}/key",
    dependencies=[AdminKey],
    responses=responses(404),
    summary="Rotate the partner's key: the old one fails at once",
)
async def rotate_key(partner_id: PartnerId, db: DB, secret: AppSecret) -> PartnerKey:
    key = new_partner_key()
    row = await queries.set_key(db, partner_id, partner_key_hash(key, secret))
    if row is None:
        raise NotFound(f"partner {partner_id} not found")
    return PartnerKey(**row, api_key=key)


@router.delete(
    "/partners/{partner_id}/key",
    status_code=status.HTTP_204_NO_CONTENT,
    dependencies=[AdminKey],
    responses=responses(404),
    summary="Revoke the partner's key: it gets 401 from now on",
)
async def revoke_key(partner_id: PartnerId, db: DB) -> None:
    if await queries.set_key(db, partner_id, None) is None:
        raise NotFound(f"partner {partner_id} not found")


@router.post(
    "/ingest",
    responses=responses(400, 413, 415, 501),
    summary="Upload a CSV or JSON feed (body, by Content-Type) with the partner's key",
    description="The raw bytes are stored with their sha256 before anything else. The same "
    "bytes again answer `duplicate` with the first upload's job id and are not processed "
    "again. `async=0` processes the feed now and answers its result.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {}},
            },
        }
    },
)
async def upload_feed(
    request: Request,
    partner: PartnerDep,
    pool: PoolDep,
    settings: SettingsDep,
    async_: Annotated[int, Query(alias="async", ge=0, le=1)] = 0,
) -> UploadResult:
    if async_:
        raise NotImplementedYet("async=1 needs the durable job queue, which is not built yet")
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = FORMATS.get(media_type)
    if fmt is None:
        raise UnsupportedMediaType(f"Content-Type must be one of {', '.join(FORMATS)}")
    content = await _read_body(request, settings.partner_feed_max_bytes)
    checksum = hashlib.sha256(content).hexdigest()
    async with pool.connection() as conn:  # committed before the feed is touched
        job_id, new = await queries.store_upload(conn, partner, checksum, media_type, content)
    if not new:
        return UploadResult(status="duplicate", job_id=job_id, checksum=checksum)
    outcome = await anyio.to_thread.run_sync(process_feed, settings, partner, job_id, fmt, content)
    async with pool.connection() as conn:
        await queries.finish_upload(
            conn,
            job_id,
            status=str(outcome.status),
            rows_loaded=outcome.rows_loaded,
            rows_rejected=outcome.rows_rejected,
            error=outcome.error,
        )
    if str(outcome.status) == "failed":
        raise UnprocessableFeed(f"job {job_id}: {outcome.error}")
    return UploadResult(
        status=str(outcome.status),
        job_id=job_id,
        checksum=checksum,
        rows_loaded=outcome.rows_loaded,
        rows_rejected=outcome.rows_rejected,
        error=outcome.error,
    )


@router.get("/audit", summary="The partner's own uploads and their results, newest first")
async def audit(
    partner: PartnerDep, db: DB, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[Upload]:
    return await queries.uploads_of(db, partner, limit)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the feed is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"the feed is larger than {limit} bytes")
    return bytes(body)
