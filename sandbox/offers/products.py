"""The aggregator's sandbox catalogue: the products whose offers the offers pipeline syncs."""

from __future__ import annotations

import psycopg2
import psycopg2.extras

from service.migrations import upgrade

PRODUCTS = [
    ("6f1c1d0e-1a2b-4c3d-8e4f-000000000001", "Espresso machine", "15 bar pump, steam wand"),
    ("6f1c1d0e-1a2b-4c3d-8e4f-000000000002", "Burr grinder", "Conical burrs, 40 settings"),
    ("6f1c1d0e-1a2b-4c3d-8e4f-000000000003", "Milk jug", "Stainless steel, 600 ml"),
    ("6f1c1d0e-1a2b-4c3d-8e4f-000000000004", "Tamper", None),
    ("6f1c1d0e-1a2b-4c3d-8e4f-000000000005", "Descaler", "Citric acid, 1 l"),
]


def seed(database_url: str) -> None:
    """Create the schema (the service's Alembic history) and the hand-picked products (idempotent)."""
    upgrade(database_url)
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur,
            "INSERT INTO products (id, name, description) VALUES %s ON CONFLICT (id) DO NOTHING",
            PRODUCTS,
        )
    conn.close()
