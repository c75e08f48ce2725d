"""Products and their cached offers in the service's Postgres."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, insert, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from service.products.models import Offer, Product, ProductIn, offers, products

PRODUCT_COLUMNS = (
    products.c.id,
    products.c.name,
    products.c.description,
    products.c.registered_at.is_not(None).label("registered"),
    products.c.created_at,
    products.c.updated_at,
)


def _product(row: Any) -> Product:
    return Product.model_validate(row, from_attributes=True)


async def create(conn: AsyncConnection, data: ProductIn) -> Product:
    row = (
        await conn.execute(
            insert(products)
            .values(id=uuid.uuid4(), name=data.name, description=data.description)
            .returning(*PRODUCT_COLUMNS)
        )
    ).one()
    return _product(row)


async def one(conn: AsyncConnection, product_id: uuid.UUID) -> Product | None:
    row = (await conn.execute(select(*PRODUCT_COLUMNS).where(products.c.id == product_id))).first()
    return _product(row) if row else None


async def listing(conn: AsyncConnection, limit: int, offset: int) -> list[Product]:
    rows = await conn.execute(
        select(*PRODUCT_COLUMNS).order_by(products.c.created_at, products.c.id).limit(limit).offset(offset)
    )
    return [_product(row) for row in rows]


async def replace(conn: AsyncConnection, product_id: uuid.UUID, data: ProductIn) -> Product | None:
    row = (
        await conn.execute(
            update(products)
            .where(products.c.id == product_id)
            .values(name=data.name, description=data.description, updated_at=literal_column("now()"))
            .returning(*PRODUCT_COLUMNS)
        )
    ).first()
    return _product(row) if row else None


async def remove(conn: AsyncConnection, product_id: uuid.UUID) -> bool:
    """Delete the product; its offers go with it (ON DELETE CASCADE)."""
    result = await conn.execute(delete(products).where(products.c.id == product_id))
    return result.rowcount > 0


async def mark_registered(conn: AsyncConnection, product_id: uuid.UUID) -> Product | None:
    row = (
        await conn.execute(
            update(products)
            .where(products.c.id == product_id, products.c.registered_at.is_(None))
            .values(registered_at=literal_column("now()"))
            .returning(*PRODUCT_COLUMNS)
        )
    ).first()
    return _product(row) if row else await one(conn, product_id)


async def cached_offers(conn: AsyncConnection, product_id: uuid.UUID) -> list[Offer] | None:
    """The product's offers as the last sync stored them; None when there is no such product."""
    rows = (
        await conn.execute(
            select(offers.c.id, offers.c.price, offers.c.items_in_stock, offers.c.synced_at)
            .select_from(products.outerjoin(offers, offers.c.product_id == products.c.id))
            .where(products.c.id == product_id)
            .order_by(offers.c.id)
        )
    ).all()
    if not rows:
        return None
    return [Offer.model_validate(row, from_attributes=True) for row in rows if row.id is not None]
