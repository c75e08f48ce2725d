"""Products and their cached offers in the service's Postgres."""

from __future__ import annotations

import uuid

from service.core.db import Connection
from service.products.models import Offer, Product, ProductIn

PRODUCT = "id, name, description, registered_at IS NOT NULL AS registered, created_at, updated_at"


async def _product(conn: Connection, sql: str, params: tuple[object, ...]) -> Product | None:
    row = await (await conn.execute(sql, params)).fetchone()
    return Product.model_validate(row) if row else None


async def create(conn: Connection, data: ProductIn) -> Product:
    product = await _product(
        conn,
        f"INSERT INTO products (id, name, description) VALUES (%s, %s, %s) RETURNING {PRODUCT}",
        (uuid.uuid4(), data.name, data.description),
    )
    assert product is not None  # INSERT ... RETURNING returns the row
    return product


async def one(conn: Connection, product_id: uuid.UUID) -> Product | None:
    return await _product(conn, f"SELECT {PRODUCT} FROM products WHERE id = %s", (product_id,))


async def listing(conn: Connection, limit: int, offset: int) -> list[Product]:
    cursor = await conn.execute(
        f"SELECT {PRODUCT} FROM products ORDER BY created_at, id LIMIT %s OFFSET %s",
        (limit, offset),
    )
    return [Product.model_validate(row) for row in await cursor.fetchall()]


async def replace(conn: Connection, product_id: uuid.UUID, data: ProductIn) -> Product | None:
    return await _product(
        conn,
        "UPDATE products SET name = %s, description = %s, updated_at = now()"
        f" WHERE id = %s RETURNING {PRODUCT}",
        (data.name, data.description, product_id),
    )


async def remove(conn: Connection, product_id: uuid.UUID) -> bool:
    """Delete the product; its offers go with it (ON DELETE CASCADE)."""
    cursor = await conn.execute("DELETE FROM products WHERE id = %s", (product_id,))
    return cursor.rowcount > 0


async def mark_registered(conn: Connection, product_id: uuid.UUID) -> Product | None:
    await conn.execute(
        "UPDATE products SET registered_at = now() WHERE id = %s AND registered_at IS NULL",
        (product_id,),
    )
    return await one(conn, product_id)


async def cached_offers(conn: Connection, product_id: uuid.UUID) -> list[Offer] | None:
    """The product's offers as the last sync stored them; None when there is no such product."""
    cursor = await conn.execute(
        "SELECT o.id, o.price, o.items_in_stock, o.synced_at"
        " FROM products p LEFT JOIN offers o ON o.product_id = p.id"
        " WHERE p.id = %s ORDER BY o.id",
        (product_id,),
    )
    rows = await cursor.fetchall()
    if not rows:
        return None
    return [Offer.model_validate(row) for row in rows if row["id"] is not None]
