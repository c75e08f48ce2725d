"""Stream definitions: the ERP work orders."""

from __future__ import annotations

from singer_sdk import typing as th

from tap_client_json.client import InboundFileStream

_DATE = th.DateTimeType


class WorkOrdersStream(InboundFileStream):
    """ERP work orders, one JSON document each (also inside array files).

    lastUpdateDate is the replication key (the newest change seen is kept in state), but what
    is read is decided by the file bookmark: files for different orders arrive in any order,
    so an older lastUpdateDate in a new file must still be read; the target's newer-wins
    guard decides whether it changes anything.
    """

    name = "work_orders"
    primary_keys = ("orderNo",)
    replication_key = "lastUpdateDate"
    is_sorted = False
    schema = th.PropertiesList(
        th.Property("orderNo", th.IntegerType, required=True),
        th.Property("isActive", th.BooleanType),
        th.Property("isCanceled", th.BooleanType),
        th.Property("isDeleted", th.BooleanType),
        th.Property("isDone", th.BooleanType),
        th.Property("isOnHold", th.BooleanType),
        th.Property("isPending", th.BooleanType),
        th.Property("isSynced", th.BooleanType),
        th.Property("summary", th.StringType),
        th.Property("creationDate", _DATE, required=True),
        th.Property("lastUpdateDate", _DATE, required=True),
        th.Property("deletedDate", _DATE),
    ).to_dict()
