"""The aggregator database side: products to register and sync, and the per-product reconcile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg2.extras

from pipelines.offers.client import Offer


@dataclass(frozen=True)
class Product:
    id: str
    name: str
    description: str | None


@dataclass(frozen=True)
class Reconciled:
    inserted: int
    updated: int
    unchanged: int
    deleted: int


def unregistered(conn: Any) -> list[Product]:
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id::text, name, description FROM products"
            " WHERE registered_at IS NULL ORDER BY id"
        )
        return [Product(*row) for row in cur.fetchall()]


def registered(conn: Any) -> list[Product]:
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id::text, name, description FROM products"
            " WHERE registered_at IS NOT NULL ORDER BY id"
        )
        return [Product(*row) for row in cur.fetchall()]


def mark_registered(conn: Any, product_id: str) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE products SET registered_at = now() WHERE id = %s AND registered_at IS NULL",
            (product_id,),
        )


def reconcile(conn: Any, product_id: str, offers: list[Offer]) -> Reconciled:
    """In ONE transaction: upsert the offers returned, delete the product's offers not returned."""
    with conn, conn.cursor() as cur:
        # Serialises two runners syncing the same product; the product may have been deleted.
        cur.execute("SELECT 1 FROM products WHERE id = %s FOR UPDATE", (product_id,))
        if cur.fetchone() is None:
            return Reconciled(0, 0, 0, 0)
        changed: list[tuple[bool]] = []
        if offers:
            changed = psycopg2.extras.execute_values(
                cur,
                "INSERT INTO offers (product_id, id, price, items_in_stock) VALUES %s"
                " ON CONFLICT (product_id, id) DO UPDATE"
                " SET price = EXCLUDED.price, items_in_stock = EXCLUDED.items_in_stock,"
                " synced_at = now()"
                " WHERE (offers.price, offers.items_in_stock)"
                " IS DISTINCT FROM (EXCLUDED.price, EXCLUDED.items_in_stock)"
                " RETURNING (xmax = 0)",
                [(product_id, o.id, o.price, o.items_in_stock) for o in offers],
                fetch=True,
            )
        cur.execute(
            "DELETE FROM offers WHERE product_id = %s AND NOT (id = ANY(%s::uuid[]))",
            (product_id, [o.id for o in offers]),
        )
        deleted = cur.rowcount
    inserted = sum(1 for (is_new,) in changed if is_new)
    updated = len(changed) - inserted
    return Reconciled(inserted, updated, len(offers) - len(changed), deleted)
