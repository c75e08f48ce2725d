"""/metrics in Prometheus' text format, behind the admin key."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import DB, AdminKey
from service.core.errors import responses
from service.metrics import database_metrics, exposition

router = APIRouter(tags=["metrics"], responses=responses(401, 403, 503))


@router.get(
    "/metrics",
    dependencies=[AdminKey],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}},
    summary="Prometheus metrics: jobs, feeds and rows per partner, HTTP latency, pipeline records",
)
async def metrics(db: DB) -> Response:
    families = await database_metrics(db)
    return Response(exposition(families), media_type=CONTENT_TYPE_LATEST)
