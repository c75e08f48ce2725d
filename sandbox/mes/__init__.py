"""The sandbox MES database: schema, hand-picked hard cases and a bulk generator."""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Iterator
from pathlib import Path

import psycopg2

HERE = Path(__file__).parent
MES_STATUS_SPELLINGS = (
    "active",
    "ACTIVE",
    "released",
    "Active  ",
    "blocked",
    "inactive",
    "INACTIVE ",
    "discontinued",
)
PLANTS = ("P100", "P200", "P300", "P400")
GENERATED_ORDER_BASE = 10_000_000


def create_schema(url: str, *, with_seed: bool = True) -> None:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute((HERE / "schema.sql").read_text())
        if with_seed:
            cur.execute((HERE / "seed.sql").read_text())
    conn.close()


class _CsvStream(io.TextIOBase):
    """A read()-able file over a generator of CSV lines, so COPY streams without a buffer."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._lines = lines
        self._pending = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> str:
        size = 1 << 16 if size is None or size < 0 else size
        chunks = [self._pending]
        length = len(self._pending)
        for line in self._lines:
            chunks.append(line)
            length += len(line)
            if length >= size:
                break
        data = "".join(chunks)
        self._pending = data[size:]
        return data[:size]


def _material(i: int) -> str:
    return f"GEN-{i:07d}"


def generate(
    url: str, orders: int, materials: int | None = None, seed: int = 42
) -> tuple[int, int]:
    """COPY `orders` production orders over `materials` materials (default orders/10).

    Appends after whatever was generated before, so it can be called repeatedly.
    Returns (orders, materials) written.
    """
    materials = max(1, materials if materials is not None else orders // 10)
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT coalesce(max(order_id), %s) FROM production_orders", (GENERATED_ORDER_BASE,)
        )
        first_order = max(int(cur.fetchone()[0]), GENERATED_ORDER_BASE) + 1
        cur.execute("SELECT count(*) FROM mara WHERE matnr LIKE 'GEN-%%'")
        first_material = int(cur.fetchone()[0])

        def material_rows() -> Iterator[str]:
            for i in range(first_material, first_material + materials):
                ts = (now - dt.timedelta(seconds=rng.randrange(86_400 * 30))).isoformat()
                yield f"{_material(i)},FERT,GEN,EA,{ts},{ts}\n"

        def sales_rows() -> Iterator[str]:
            for i in range(first_material, first_material + materials):
                ts = (now - dt.timedelta(seconds=rng.randrange(86_400 * 30))).isoformat()
                status = MES_STATUS_SPELLINGS[i % len(MES_STATUS_SPELLINGS)]
                yield f"{_material(i)},1000,10,GSKU-{i:07d},{status},{ts}\n"

        def order_rows() -> Iterator[str]:
            for n in range(orders):
                i = first_material + (n % materials)
                created = now - dt.timedelta(seconds=rng.randrange(86_400 * 60))
                updated = created + dt.timedelta(seconds=rng.randrange(86_400))
                status = MES_STATUS_SPELLINGS[i % len(MES_STATUS_SPELLINGS)]
                qty = f"{rng.randrange(1, 100_000) / 1000:.3f}"
                yield (
                    f"{first_order + n},{_material(i)},GSKU-{i:07d},{status},{qty},"
                    f"{PLANTS[n % len(PLANTS)]},{created.isoformat()},{updated.isoformat()}\n"
                )

        cur.copy_expert(
            "COPY mara (matnr, mtart, matkl, meins, created_at, updated_at) FROM STDIN WITH (FORMAT csv)",
            _CsvStream(material_rows()),
        )
        cur.copy_expert(
            "COPY mvke (matnr, vkorg, vtweg, sku, status, updated_at) FROM STDIN WITH (FORMAT csv)",
            _CsvStream(sales_rows()),
        )
        cur.copy_expert(
            "COPY production_orders (order_id, material_number, sku, status, quantity, plant, created_at, updated_at)"
            " FROM STDIN WITH (FORMAT csv)",
            _CsvStream(order_rows()),
        )
        cur.execute("ANALYZE production_orders")
    conn.close()
    return orders, materials
