"""Stream definitions: TracOS work orders."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_tracos.client import UnsyncedDocumentsStream


class WorkOrdersStream(UnsyncedDocumentsStream):
    """Work orders with `isSynced` false or missing; the flag itself is the bookmark."""

    name = "workorders"
    collection_name = "workorders"
    key = "number"
    primary_keys = ("number",)
    replication_key = None
    schema = th.PropertiesList(
        th.Property("number", th.IntegerType, required=True),
        th.Property("status", th.StringType),
        th.Property("title", th.StringType),
        th.Property("description", th.StringType),
        th.Property("createdAt", th.DateTimeType),
        th.Property("updatedAt", th.DateTimeType),
        th.Property("deleted", th.BooleanType),
        th.Property("deletedAt", th.DateTimeType),
        th.Property("isSynced", th.BooleanType),
        th.Property("syncedAt", th.DateTimeType),
    ).to_dict()
