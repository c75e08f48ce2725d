"""MesToGlassdomeMapper: many MES rows in, one `products` stream out (latest update wins)."""

from __future__ import annotations

import typing as t

from connector_kit import logs
from connector_kit.config_files import run_cli
from singer_sdk import InlineMapper
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader, MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.singerlib import Message, RecordMessage, SchemaMessage, StateMessage
from typing_extensions import override

from map_mes_glassdome.translation import PRODUCT_SCHEMA, LatestWins, Tables, to_product


class MesToGlassdomeMapper(InlineMapper):
    """Translates MES production orders and sales rows into Glassdome products.

    - Soft-deleted rows (`deleted_at` set) are skipped: they do not change a product.
    - Latest update wins per material across all source streams (see LatestWins).
    - STATE passes through unchanged, so bookmarks still follow the target's flushes.
    """

    name = "map-mes-glassdome"
    message_reader_class = MsgSpecReader
    message_writer_class = MsgSpecWriter

    config_jsonschema = th.PropertiesList(
        th.Property(
            "output_stream",
            th.StringType,
            default="products",
            title="Output stream",
            description="Name of the product stream sent to the target.",
        ),
    ).to_dict()

    @override
    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self.tables = Tables.load()
        self.latest = LatestWins()
        self.output_stream = str(self.config.get("output_stream") or "products")
        self.schema_sent = False
        self.counts = {"read": 0, "emitted": 0, "deleted": 0, "superseded": 0, "unmapped": 0}

    @override
    def map_schema_message(self, message_dict: dict) -> t.Iterable[Message]:
        if message_dict["stream"] not in self.tables.sources or self.schema_sent:
            return
        self.schema_sent = True
        yield SchemaMessage(self.output_stream, PRODUCT_SCHEMA, key_properties=["id"])

    @override
    def map_record_message(self, message_dict: dict) -> t.Iterable[Message]:
        material_column = self.tables.sources.get(message_dict["stream"])
        if material_column is None:
            return
        row = message_dict["record"]
        self.counts["read"] += 1
        if row.get("deleted_at"):
            self.counts["deleted"] += 1
            return
        product = to_product(row, material_column, self.tables)
        if not self.latest.admit(product["id"], row.get("updated_at")):
            self.counts["superseded"] += 1
            return
        if product["status"] is None:
            self.counts["unmapped"] += 1
        self.counts["emitted"] += 1
        yield RecordMessage(stream=self.output_stream, record=product)

    @override
    def map_state_message(self, message_dict: dict) -> t.Iterable[Message]:
        yield StateMessage(value=message_dict["value"])

    @override
    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[Message]:
        # Glassdome has no delete endpoint, so a table version means nothing there.
        return []

    @override
    def map_batch_message(self, message_dict: dict) -> t.Iterable[Message]:
        # Dropping a BATCH would let its STATE pass with the rows never sent: refuse instead.
        raise ConfigValidationError(
            f"BATCH messages are not supported (stream {message_dict['stream']!r}): "
            "run tap-mes without batch_config for this flow"
        )

    @override
    def process_endofpipe(self) -> None:
        self.logger.info("summary %s", logs.kv(**self.counts))


def main() -> None:
    """Console entry point (`map-mes-glassdome --config file.yaml`)."""
    run_cli(MesToGlassdomeMapper.cli)


if __name__ == "__main__":
    main()
