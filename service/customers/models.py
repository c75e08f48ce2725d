"""The API shapes of the customers the customers dlt pipeline loads (table: migration 0003)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, PlainSerializer, WithJsonSchema

# DECIMAL(15,2) as a JSON number, as the seed's mock serves it (15 digits fit a double exactly).
Money = Annotated[float, PlainSerializer(float, return_type=float)]

# TIMESTAMP without zone, served as the mock serves it ("2023-06-28T15:47:14"): not RFC 3339
# `date-time`, which needs an offset, so the document says what it is.
LocalTimestamp = Annotated[
    dt.datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$",
            "description": "ISO 8601 date and time without offset (the seed's TIMESTAMP)",
            "examples": ["2023-06-28T15:47:14"],
        }
    ),
]


class Customer(BaseModel):
    customer_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    address: str | None
    date_of_birth: dt.date | None
    account_balance: Money | None
    created_at: LocalTimestamp | None


class CustomerPage(BaseModel):
    """The seed's envelope."""

    data: list[Customer]
    total: int
    page: int
    limit: int
    total_pages: int


class CustomerOne(BaseModel):
    data: Customer


class IngestResult(BaseModel):
    status: str = "success"
    records_processed: int
