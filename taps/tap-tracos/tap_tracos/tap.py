"""tap-tracos: declarations only; the reading lives in client.py."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

from connector_kit.logs import kv
from connector_kit.mongo import Mongo, MongoUnavailableError
from singer_sdk import Tap
from singer_sdk import typing as th
from typing_extensions import override

from tap_tracos.streams import WorkOrdersStream

MONGO_SETTINGS = th.PropertiesList(
    th.Property(
        "mongo_uri",
        th.StringType,
        required=True,
        secret=True,
        title="MongoDB URI",
        description="TracOS MongoDB connection string (seed: MONGO_URI); "
        "its path names the database.",
    ),
    th.Property(
        "database",
        th.StringType,
        default="tractian",
        title="Database",
        description="Database when the URI names none.",
    ),
    th.Property(
        "server_selection_timeout_ms",
        th.IntegerType,
        default=5000,
        title="Server selection timeout (ms)",
        description="How long one attempt waits for a reachable Mongo.",
    ),
    th.Property(
        "retry_attempts",
        th.IntegerType,
        default=6,
        title="Retry attempts",
        description="Attempts per read (exponential backoff with jitter) before the run fails.",
    ),
    th.Property(
        "retry_max_wait_s",
        th.NumberType,
        default=10.0,
        title="Longest retry wait (s)",
        description="Cap of the backoff between attempts.",
    ),
)


class TapTracos(Tap):
    """TracOS work orders waiting to be sent to the client system."""

    name = "tap-tracos"

    config_jsonschema = th.PropertiesList(
        *MONGO_SETTINGS,
        th.Property(
            "collection",
            th.StringType,
            default="workorders",
            title="Collection",
            description="The work-order collection.",
        ),
        th.Property(
            "synced_flag",
            th.StringType,
            default="isSynced",
            title="Synced flag",
            description="Documents where this is not true are streamed.",
        ),
        th.Property(
            "page_size",
            th.IntegerType,
            default=1000,
            title="Page size",
            description="Documents per query page (memory bound and retry unit).",
        ),
    ).to_dict()

    @cached_property
    def mongo(self) -> Mongo:
        return Mongo.from_config(self.config, self.logger)

    @override
    def discover_streams(self) -> list[WorkOrdersStream]:
        return [WorkOrdersStream(self)]

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        try:
            super().invoke(*args, **kwargs)
        except MongoUnavailableError as error:
            cls.logger.error("tracos unavailable, nothing exported %s", kv(error=error))
            sys.exit(1)
