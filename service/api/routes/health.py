"""Health: 200 while the database answers, 503 JSON when it does not."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from service.api.deps import PoolDep
from service.core.errors import DatabaseUnavailable, database_away, responses

router = APIRouter(tags=["health"], responses=responses(503))


class Health(BaseModel):
    status: str = "ok"
    database: str = "ok"


@router.get("/health", summary="Database connectivity (product-aggregator.md)")
@router.get("/api/health", summary="Health check (customer-data-pipeline.md)")
async def health(pool: PoolDep) -> Health:
    try:
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:
        if database_away(exc):
            raise DatabaseUnavailable("the database does not answer") from None
        raise
    return Health()
