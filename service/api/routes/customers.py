"""Customers (customer-data-pipeline.md): ingest from the customer API, read from Postgres."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from service.api.deps import DB, PoolDep, ServiceKey, SettingsDep
from service.core.errors import NotFound, responses
from service.customers import queries
from service.customers.ingest import ingest
from service.customers.models import CustomerOne, CustomerPage, IngestResult

router = APIRouter(prefix="/api", tags=["customers"], responses=responses(422, 503))
LIMIT_MAX = 100  # as the seed's mock
PAGE_MAX = 1_000_000


@router.post(
    "/ingest",
    dependencies=[ServiceKey],
    responses=responses(401, 409, 502),
    summary="Run the customers pipeline into the database",
    description="Pages through the customer API and upserts every customer on customer_id. "
    "One ingest at a time: a call while another runs answers 409 at once. "
    "A failing customer API answers 502 and leaves the table as it was.",
)
async def ingest_customers(pool: PoolDep, settings: SettingsDep) -> IngestResult:
    return IngestResult(records_processed=await ingest(pool, settings))


@router.get("/customers", summary="Customers from the database, paginated")
async def list_customers(
    db: DB,
    page: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 1,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = 10,
) -> CustomerPage:
    return await queries.page(db, page, limit)


@router.get("/customers/{customer_id}", responses=responses(404), summary="One customer by id")
async def get_customer(
    db: DB,
    customer_id: Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[^\x00]+$")],
) -> CustomerOne:
    customer = await queries.one(db, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return CustomerOne(data=customer)
