"""The aggregator's products and cached offers, and their API shapes."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Column, DateTime, ForeignKey, Integer, Table, Text, func
from sqlalchemy.dialects.postgresql import UUID

from service.core.db import metadata

products = Table(
    "products",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("name", Text, nullable=False),
    Column("description", Text),
    # NULL until the offers service has accepted the product (the offers pipeline retries)
    Column("registered_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

offers = Table(
    "offers",
    metadata,
    Column(
        "product_id",
        UUID(as_uuid=True),
        ForeignKey("products.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("price", Integer, nullable=False),
    Column("items_in_stock", Integer, nullable=False),
    Column("synced_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class ProductIn(BaseModel):
    """What a client sends to create or replace a product."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(None, max_length=2000)

    @field_validator("name", "description")
    @classmethod
    def _storable(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:
            raise ValueError("must not contain NUL characters")
        return value


class Product(BaseModel):
    id: uuid.UUID
    name: str
    description: str | None
    registered: bool = Field(description="the offers service has accepted the product")
    created_at: dt.datetime
    updated_at: dt.datetime


class Offer(BaseModel):
    id: uuid.UUID
    price: int
    items_in_stock: int
    synced_at: dt.datetime
