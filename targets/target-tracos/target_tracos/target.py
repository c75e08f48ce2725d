"""target-tracos: declarations only; the work lives in sinks.py (Mongo access: connector_kit.mongo)."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

from connector_kit import mongo
from connector_kit.config_files import run_cli
from connector_kit.logs import kv
from connector_kit.mongo import Mongo, MongoUnavailableError
from singer_sdk import Target
from singer_sdk import typing as th
from typing_extensions import override

from target_tracos.sinks import StreamKeyError, TracosHost, UpsertSink


class TargetTracos(Target):
    """Upserts each stream into the TracOS collection of its name, keyed by its key property."""

    name = "target-tracos"
    default_sink_class = UpsertSink

    config_jsonschema = th.PropertiesList(
        *mongo.SETTINGS,
        th.Property(
            "collections",
            th.ObjectType(),
            title="Collections",
            description="Stream name -> collection name; a stream not listed goes to the "
            "collection of its own name.",
        ),
        th.Property(
            "version_property",
            th.StringType,
            default="updatedAt",
            title="Version property",
            description="Field compared on upsert: a record only replaces a stored document "
            "older than itself.",
        ),
        th.Property(
            "synced_flag",
            th.StringType,
            default="isSynced",
            title="Synced flag",
            description="Field set false on every inbound change so the outbound flow exports it.",
        ),
        th.Property("version_field", th.StringType, description="Deprecated: version_property."),
        th.Property("unsynced_flag", th.StringType, description="Deprecated: synced_flag."),
        th.Property("batch_size", th.IntegerType, description="Deprecated: batch_size_rows."),
        th.Property(
            "dead_letter_dir",
            th.StringType,
            title="Dead-letter folder",
            description="Where records Mongo rejects go (JSONL with the reason). "
            "Default: $DEAD_LETTER_DIR.",
        ),
    ).to_dict()

    @override
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Fail before reading any input when Mongo is unreachable.
        self.tracos.ping()

    @override
    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        self.tracos.close()

    @cached_property
    def tracos(self) -> Mongo:
        return Mongo.from_config(self.config, self.logger)

    @classmethod
    @override
    def invoke(cls, **kwargs: Any) -> None:
        try:
            super().invoke(**kwargs)
        except MongoUnavailableError as error:
            cls.logger.error(
                "tracos unavailable, run stopped, unconfirmed writes not acknowledged %s",
                kv(error=error),
            )
            sys.exit(1)
        except StreamKeyError as error:
            cls.logger.error("stream cannot be loaded, run stopped %s", kv(error=error))
            sys.exit(1)


def _hosts_its_sinks(target: TargetTracos) -> TracosHost:
    return target  # mypy checks here that the target has what its sinks use


def main() -> None:
    """Console entry point (`target-tracos --config file.yaml`)."""
    run_cli(TargetTracos.cli)


if __name__ == "__main__":
    main()
