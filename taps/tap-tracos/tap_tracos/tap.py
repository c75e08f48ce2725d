"""tap-tracos: declarations only; the reading lives in client.py."""

from __future__ import annotations

import sys
from typing import Any

from connector_kit import mongo
from connector_kit.config_files import run_cli
from connector_kit.logs import kv
from connector_kit.mongo import MongoUnavailableError
from singer_sdk import Tap
from singer_sdk import typing as th
from typing_extensions import override

from tap_tracos.streams import WorkOrdersStream


class TapTracos(Tap):
    """TracOS work orders waiting to be sent to the client system."""

    name = "tap-tracos"

    config_jsonschema = th.PropertiesList(
        *mongo.SETTINGS,
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


def main() -> None:
    """Console entry point (`tap-tracos --config file.yaml`)."""
    run_cli(TapTracos.cli)


if __name__ == "__main__":
    main()
