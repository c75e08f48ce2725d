"""Partner catalog ingest (partner-catalog-ingest.md): onboarding and keys (admin), uploads."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse

from pipelines.partner_feeds import contract as feed_contract
from service.api.deps import DB, AdminKey, AppSecret, PartnerDep, PoolDep, SettingsDep
from service.core.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnprocessableFeed,
    UnsupportedMediaType,
    responses,
)
from service.core.security import new_partner_key, partner_key_hash
from service.jobs import process_upload_task, queue_upload
from service.partners import queries
from service.partners.feeds import FORMATS, adapter
from service.partners.models import (
    PARTNER_ID,
    Job,
    PartnerIn,
    PartnerKey,
    Queued,
    Upload,
    UploadResult,
)
from service.partners.processing import attempt_upload

router = APIRouter(prefix="/partner", tags=["partners"], responses=responses(401, 422, 503))
PartnerId = Annotated[str, Path(pattern=PARTNER_ID)]


@router.post(
    "/partners",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminKey],
    responses=responses(400, 403, 409),
    summary="Onboard a partner; its API key is in this answer and nowhere else",
)
async def onboard(data: PartnerIn, db: DB, secret: AppSecret) -> PartnerKey:
    key = new_partner_key()
    row = await queries.create_partner(db, data.id, data.name, partner_key_hash(key, secret))
    return PartnerKey(**row, api_key=key)


@router.post(
    "/partners/{partner_id}/key",
    dependencies=[AdminKey],
    responses=responses(403, 404),
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
    responses=responses(403, 404),
    summary="Revoke the partner's key: it gets 401 from now on",
)
async def revoke_key(partner_id: PartnerId, db: DB) -> None:
    if await queries.set_key(db, partner_id, None) is None:
        raise NotFound(f"partner {partner_id} not found")


@router.post(
    "/ingest",
    response_model=UploadResult,
    responses={
        202: {"model": Queued, "description": "async=1: queued for the worker"},
        **responses(400, 413, 415),
    },
    summary="Upload a CSV or JSON feed (body, by Content-Type) with the partner's key",
    description="The raw bytes are stored with their sha256 before anything else. The same "
    "bytes again answer `duplicate` with the first upload's job id and are not processed "
    "again. `async=0` processes the feed now and answers its result; `async=1` answers 202 "
    "with the job id, and the worker processes it (retried with backoff).",
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
) -> UploadResult | JSONResponse:  # response_model: the 200
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in FORMATS:
        raise UnsupportedMediaType(f"Content-Type must be one of {', '.join(FORMATS)}")
    content = await _read_body(request, settings.partner_feed_max_bytes)
    checksum = hashlib.sha256(content).hexdigest()
    async with pool.connection() as conn:  # committed before the feed is touched
        job_id, new = await queries.store_upload(conn, partner, checksum, media_type, content)
    if not new:
        return UploadResult(status="duplicate", job_id=job_id, checksum=checksum)
    if async_:
        await queue_upload(pool, job_id, _request_id(request))
        return JSONResponse(Queued(job_id=job_id).model_dump(), status_code=202)
    result = await attempt_upload(pool, settings, job_id)
    if result.status == "failed":
        raise UnprocessableFeed(f"job {job_id}: {result.error}")
    return result


@router.get(
    "/jobs",
    dependencies=[AdminKey],
    responses=responses(403),
    summary="Jobs (uploads), newest first, by status and partner",
)
async def list_jobs(
    db: DB,
    status: Annotated[str | None, Query(max_length=20, pattern=r"^[a-z]+$")] = None,
    partner: Annotated[str | None, Query(pattern=PARTNER_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Job]:
    return [Job.model_validate(row) for row in await queries.jobs(db, status, partner, limit)]


@router.get(
    "/jobs/{job_id}", dependencies=[AdminKey], responses=responses(403, 404), summary="One job"
)
async def get_job(job_id: Annotated[int, Path(ge=1, le=2**63 - 1)], db: DB) -> Job:
    row = await queries.job(db, job_id)
    if row is None:
        raise NotFound(f"job {job_id} not found")
    return Job.model_validate({**row, "attempt_log": await queries.attempts(db, job_id)})


@router.post(
    "/jobs/{job_id}/requeue",
    status_code=status.HTTP_202_ACCEPTED,
    dependencies=[AdminKey],
    responses=responses(403, 404, 409),
    summary="Queue a job that failed (or never finished) again, once its cause is fixed",
)
async def requeue_job(
    request: Request, job_id: Annotated[int, Path(ge=1, le=2**63 - 1)], pool: PoolDep
) -> Queued:
    async with pool.connection() as conn:
        before = await queries.requeue(conn, job_id)
    if before is None:
        raise NotFound(f"job {job_id} not found")
    if before == "loaded":
        raise Conflict(f"job {job_id} has loaded its feed already")
    await process_upload_task.defer_async(job_id=job_id, request_id=_request_id(request))
    return Queued(job_id=job_id)


@router.get(
    "/contract",
    summary="The fields, types and rules this partner's feeds must follow",
    description="Generated from the pipeline's own registry and validation: each rule is shown "
    "as sample values and what the validator answers for them (accepted and stored as, or the "
    "reason a row with it is rejected).",
)
async def get_contract(partner: PartnerDep, settings: SettingsDep) -> dict[str, Any]:
    found = await anyio.to_thread.run_sync(adapter, partner)
    return {
        **feed_contract.contract(found),
        "content_types": list(FORMATS),
        "max_bytes": settings.partner_feed_max_bytes,
    }


@router.get(
    "/contract/example",
    summary="A valid CSV and JSON feed in this partner's format, ready to upload",
)
async def contract_example(partner: PartnerDep) -> dict[str, Any]:
    found = await anyio.to_thread.run_sync(adapter, partner)
    bodies = await anyio.to_thread.run_sync(feed_contract.examples, found)
    return {
        fmt: {"content_type": media, "body": bodies[fmt].decode(found.encoding)}
        for media, fmt in FORMATS.items()
    }


@router.get("/help", summary="How to send feeds: the steps, the endpoints and the limits")
async def partner_help(settings: SettingsDep) -> dict[str, Any]:
    return {
        "steps": [
            "Authenticate every call with your key in the X-API-Key header.",
            "Read GET /partner/contract: your columns, their types and the rules, with your"
            " decimal and thousands separators and encoding.",
            "Start from GET /partner/contract/example: a valid CSV and JSON feed.",
            "POST the feed to /partner/ingest with Content-Type text/csv or application/json."
            " async=0 answers the result (rows loaded, rejected); async=1 answers 202 with a"
            " job id and a worker processes it, retried with backoff.",
            "Sending the same bytes again answers status duplicate with the first job id;"
            " nothing is loaded twice.",
            "GET /partner/audit lists your uploads and their results (only yours).",
        ],
        "limits": {"max_bytes": settings.partner_feed_max_bytes, "content_types": list(FORMATS)},
        "errors": 'every error is {"error": "<Name>", "details": "<message>"}: 401 no'
        " or wrong key, 413 too large, 415 other content type, 422 a feed that cannot be read"
        " (rows that break a rule are rejected one by one, the rest loads)",
        "endpoints": {
            "POST /partner/ingest?async=0|1": "upload a feed",
            "GET /partner/contract": "fields, types and rules",
            "GET /partner/contract/example": "valid example feeds",
            "GET /partner/audit": "your uploads and their results",
        },
    }


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


def _request_id(request: Request) -> str:
    """The request's id (access log), handed to the task so its log lines carry it."""
    return str(getattr(request.state, "request_id", "-"))
