"""Reads of the loaded customers."""

from __future__ import annotations

import math

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from service.customers.models import Customer, CustomerPage, customers

PAGE_QUERY = select(customers).order_by(customers.c.customer_id)
COUNT_QUERY = select(func.count()).select_from(customers)


async def page(conn: AsyncConnection, number: int, limit: int) -> CustomerPage:
    total = int(await conn.scalar(COUNT_QUERY) or 0)
    rows = await conn.execute(PAGE_QUERY.limit(limit).offset((number - 1) * limit))
    return CustomerPage(
        data=[Customer.model_validate(row, from_attributes=True) for row in rows],
        total=total,
        page=number,
        limit=limit,
        total_pages=math.ceil(total / limit),
    )


async def one(conn: AsyncConnection, customer_id: str) -> Customer | None:
    rows = await conn.execute(select(customers).where(customers.c.customer_id == customer_id))
    row = rows.first()
    return Customer.model_validate(row, from_attributes=True) if row else None
