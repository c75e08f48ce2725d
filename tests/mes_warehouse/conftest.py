"""A source MES database of its own (generated orders), so the shared `mes` stays untouched."""

from __future__ import annotations

import pytest

from sandbox import mes
from sandbox.postgres import ensure_databases
from sandbox.settings import SandboxConfig
from tests.target_postgres.conftest import query, schema, warehouse_url

__all__ = ["schema", "warehouse_url"]  # fixtures shared with the target's tests

SOURCE_DB = "mes_bulk_source"
ORDERS = 20_000
COLUMNS = {
    "production_orders": (
        "order_id",
        "order_id, material_number, sku, status, quantity, plant,"
        " created_at, updated_at, deleted_at",
    ),
    "mara": ("matnr", "matnr, mtart, matkl, meins, created_at, updated_at, deleted_at"),
    "mvke": ("matnr, vkorg, vtweg", "matnr, vkorg, vtweg, sku, status, updated_at, deleted_at"),
    "makt": ("matnr, spras", "matnr, spras, maktx, updated_at"),
}


@pytest.fixture(scope="session")
def source_url(sandbox_cfg: SandboxConfig) -> str:
    ensure_databases(sandbox_cfg.postgres_url(), [SOURCE_DB])
    url = sandbox_cfg.postgres_url(SOURCE_DB)
    mes.create_schema(url, with_seed=True)
    if query(url, "SELECT count(*) FROM production_orders")[0][0] < ORDERS:
        mes.generate(url, ORDERS)
    return url


def fingerprint(url: str, table: str) -> tuple[int, str]:
    """Row count and md5 over every row's text (UTC), ordered by the key."""
    name = table.rsplit(".", 1)[-1]
    key, columns = COLUMNS[name]
    return query(
        url,
        f"SELECT count(*), md5(string_agg(row({columns})::text, '|' ORDER BY {key})) FROM {table}",
    )[0]
