"""The MES streams: production orders and the SAP-style material tables."""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from typing_extensions import override

from tap_mes.client import MesStream

TEXT = {"type": ["string"]}
TEXT_OR_NULL = {"type": ["string", "null"]}
TIMESTAMP = {"type": ["string"], "format": "date-time"}
TIMESTAMP_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
EARLIEST = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


class ProductionOrdersStream(MesStream):
    """One row per production order; `deleted_at` marks soft-deleted orders (still emitted)."""

    name = "production_orders"
    key_columns = ("order_id",)
    properties: t.ClassVar[dict[str, dict[str, t.Any]]] = {
        "order_id": {"type": ["integer"]},
        "material_number": TEXT,
        "sku": TEXT,
        "status": TEXT,
        "quantity": {"type": ["number"]},
        "plant": TEXT,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "deleted_at": TIMESTAMP_OR_NULL,
    }


class MaterialsStream(MesStream):
    """`mara`: the material master, one row per material number (`matnr`)."""

    name = "mara"
    key_columns = ("matnr",)
    properties: t.ClassVar[dict[str, dict[str, t.Any]]] = {
        "matnr": TEXT,
        "mtart": TEXT,
        "matkl": TEXT_OR_NULL,
        "meins": TEXT,
        "created_at": TIMESTAMP,
        "updated_at": TIMESTAMP,
        "deleted_at": TIMESTAMP_OR_NULL,
    }


class MaterialDescriptionsStream(MesStream):
    """`makt`: material descriptions per language."""

    name = "makt"
    key_columns = ("matnr", "spras")
    properties: t.ClassVar[dict[str, dict[str, t.Any]]] = {
        "matnr": TEXT,
        "spras": TEXT,
        "maktx": TEXT,
        "updated_at": TIMESTAMP,
    }


class MaterialSalesStream(MesStream):
    """`mvke`: sales data per material, sales org and channel, with `sku` and `status`."""

    name = "mvke"
    key_columns = ("matnr", "vkorg", "vtweg")
    properties: t.ClassVar[dict[str, dict[str, t.Any]]] = {
        "matnr": TEXT,
        "vkorg": TEXT,
        "vtweg": TEXT,
        "sku": TEXT,
        "status": TEXT,
        "updated_at": TIMESTAMP,
        "deleted_at": TIMESTAMP_OR_NULL,
    }


STREAM_TYPES: tuple[type[MesStream], ...] = (
    ProductionOrdersStream,
    MaterialsStream,
    MaterialDescriptionsStream,
    MaterialSalesStream,
)


class QueryStream(MesStream):
    """A stream defined in config (`custom_streams`) by a SQL query and its column types.

    The query may use `:start` (the bookmark minus the lookback, or the year 1 on a first
    run) to filter its inner tables, so an incremental run reads only recent rows.
    """

    query: str = ""

    @override
    def source(self, start: dt.datetime | None = None) -> sa.FromClause:
        columns: list[sa.ColumnClause[t.Any]] = [sa.column(c) for c in self.properties]
        text = sa.text(self.query)
        if ":start" in self.query:
            text = text.bindparams(start=start or EARLIEST)
        return text.columns(*columns).subquery(self.name)


def query_stream_type(definition: dict[str, t.Any]) -> type[QueryStream]:
    """Build the stream class for one `custom_streams` entry."""
    name = str(definition["name"])
    attributes = {
        "name": name,
        "query": str(definition["sql"]),
        "key_columns": tuple(definition.get("primary_keys") or ()),
        "replication_key_column": definition.get("replication_key"),
        "properties": dict(definition["properties"]),
        "__doc__": f"Configured query stream {name}.",
    }
    return type(f"QueryStream_{name}", (QueryStream,), attributes)
