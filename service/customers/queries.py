"""Reads of the loaded customers (customer_data.customers, as the pipeline loads it)."""

from __future__ import annotations

import math

from service.core.db import Connection
from service.customers.models import Customer, CustomerPage

COLUMNS = (
    "customer_id, first_name, last_name, email, phone, address, date_of_birth,"
    " account_balance, created_at"
)
# The total rides along on each row; only a page past the end needs the count on its own.
PAGE = (
    f"SELECT {COLUMNS}, count(*) OVER () AS total FROM customer_data.customers"
    " ORDER BY customer_id LIMIT %s OFFSET %s"
)
COUNT = "SELECT count(*) AS total FROM customer_data.customers"
ONE = f"SELECT {COLUMNS} FROM customer_data.customers WHERE customer_id = %s"


async def page(conn: Connection, number: int, limit: int) -> CustomerPage:
    rows = await (await conn.execute(PAGE, (limit, (number - 1) * limit))).fetchall()
    if rows:
        total = int(rows[0]["total"])
    else:
        counted = await (await conn.execute(COUNT)).fetchone()
        total = int(counted["total"]) if counted else 0
    return CustomerPage(
        data=[Customer.model_validate(row) for row in rows],
        total=total,
        page=number,
        limit=limit,
        total_pages=math.ceil(total / limit),
    )


async def one(conn: Connection, customer_id: str) -> Customer | None:
    row = await (await conn.execute(ONE, (customer_id,))).fetchone()
    return Customer.model_validate(row) if row else None
