"""Products and their cached offers (product-aggregator.md)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from service.api.deps import DB, PoolDep, RegistrarDep, ServiceKey
from service.core.errors import NotFound, responses
from service.products import queries
from service.products.models import Offer, Product, ProductIn

router = APIRouter(prefix="/products", tags=["products"], responses=responses(422, 503))


def _missing(product_id: uuid.UUID) -> NotFound:
    return NotFound(f"product {product_id} not found")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=responses(400, 401),
    summary="Create a product and register it with the offers service",
    description="The product is saved even when the offers service cannot be reached; it then "
    "shows `registered: false` and the next offers sync registers it.",
    dependencies=[ServiceKey],
)
async def create_product(data: ProductIn, pool: PoolDep, registrar: RegistrarDep) -> Product:
    # No connection is held while the offers service answers (up to OFFERS_REGISTER_TIMEOUT_S).
    async with pool.connection() as conn:
        product = await queries.create(conn, data)  # committed: saved whatever happens next
    if await registrar.register(product):
        async with pool.connection() as conn:
            product = await queries.mark_registered(conn, product.id) or product
    return product


@router.get("", summary="List products (oldest first)")
async def list_products(
    db: DB,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> list[Product]:
    return await queries.listing(db, limit, offset)


@router.get("/{product_id}", responses=responses(404), summary="One product")
async def get_product(product_id: uuid.UUID, db: DB) -> Product:
    product = await queries.one(db, product_id)
    if product is None:
        raise _missing(product_id)
    return product


@router.put(
    "/{product_id}",
    responses=responses(400, 401, 404),
    summary="Replace a product",
    dependencies=[ServiceKey],
)
async def replace_product(product_id: uuid.UUID, data: ProductIn, db: DB) -> Product:
    product = await queries.replace(db, product_id, data)
    if product is None:
        raise _missing(product_id)
    return product


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=responses(401, 404),
    summary="Delete a product and its offers",
    dependencies=[ServiceKey],
)
async def delete_product(product_id: uuid.UUID, db: DB) -> None:
    if not await queries.remove(db, product_id):
        raise _missing(product_id)


@router.get(
    "/{product_id}/offers",
    responses=responses(404),
    summary="The product's offers as the last sync stored them (read-only)",
)
async def product_offers(product_id: uuid.UUID, db: DB) -> list[Offer]:
    found = await queries.cached_offers(db, product_id)
    if found is None:
        raise _missing(product_id)
    return found
