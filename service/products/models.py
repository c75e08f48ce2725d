"""The API shapes of the aggregator's products and cached offers (tables: migrations 0001-0002)."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field, field_validator


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
