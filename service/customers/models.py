"""The `customers` table as the customers dlt pipeline loads it, and its API shapes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, PlainSerializer
from sqlalchemy import Column, Date, DateTime, Numeric, String, Table, Text


from pipelines.customers.settings import DEFAULT_DATASET
from service.core.db import metadata

SCHEMA = DEFAULT_DATASET  # the pipeline's dataset: one Postgres schema

customers = Table(
    "customers",
    metadata,
    Column("customer_id", String(50), primary_key=True),
    Column("first_name", String(100), nullable=False),
    Column("last_name", String(100), nullable=False),
    Column("email", String(255), nullable=False),
    Column("phone", String(20)),
    Column("address", Text),
    Column("date_of_birth", Date),
    Column("account_balance", Numeric(15, 2)),
    Column("created_at", DateTime(timezone=False)),
    schema=SCHEMA,
)

# DECIMAL(15,2) as a JSON number, as the seed's mock serves it (15 digits fit a double exactly).
Money = Annotated[float, PlainSerializer(float, return_type=float)]


class Customer(BaseModel):
    customer_id: str
    first_name: str
    last_name: str
    email: str
    phone: str | None
    address: str | None
    date_of_birth: dt.date | None
    account_balance: Money | None
    created_at: dt.datetime | None


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
