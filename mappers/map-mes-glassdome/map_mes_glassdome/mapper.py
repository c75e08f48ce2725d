"""MesToGlassdomeMapper: many MES rows in, one `products` stream out (latest update wins)."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from connector_kit import batches, logs
from connector_kit.config_files import run_cli
from singer_sdk import InlineMapper
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader, MsgSpecWriter
from singer_sdk.singerlib import (
    Message,
    RecordMessage,
    SchemaMessage,
    SingerMessageType,
    StateMessage,
)
from typing_extensions import override

from map_mes_glassdome.translation import (
    PRODUCT_SCHEMA,
    LatestWins,
    Tables,
    product_fields,
    to_product,
)


@dataclass
class BatchMessage(Message):
    """A Singer BATCH message with a plain encoding dict, built on the public `Message`
    (the SDK's own class is in the private `singer_sdk.helpers._batch`)."""

    stream: str
    encoding: dict[str, t.Any]
    manifest: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.type = SingerMessageType.BATCH


class MesToGlassdomeMapper(InlineMapper):
    """Translates MES production orders and sales rows into Glassdome products.

    - Soft-deleted rows (`deleted_at` set) are skipped: they do not change a product.
    - Streams translated upstream (`material_latest`, by its SQL) are forwarded as they are.
    - Latest update wins per material across all source streams (see LatestWins).
    - STATE passes through unchanged, so bookmarks still follow the target's flushes.
    - A BATCH file is translated into a new gzip JSON-lines file of products beside it (the
      same rules, read a chunk at a time); the source file is then deleted.
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
        # `received`, not `read`: the tap states what was read (connector_kit.logs.summary)
        self.counts = {
            "received": 0,
            "emitted": 0,
            "soft_deleted": 0,
            "superseded": 0,
            "unmapped": 0,
        }

    @override
    def map_schema_message(self, message_dict: dict) -> t.Iterable[Message]:
        if not self.tables.carries_products(message_dict["stream"]) or self.schema_sent:
            return
        self.schema_sent = True
        yield SchemaMessage(self.output_stream, PRODUCT_SCHEMA, key_properties=["id"])

    @override
    def map_record_message(self, message_dict: dict) -> t.Iterable[Message]:
        stream = message_dict["stream"]
        if not self.tables.carries_products(stream):
            return
        product = self.product(stream, message_dict["record"])
        if product is not None:
            yield RecordMessage(stream=self.output_stream, record=product)

    def product(self, stream: str, row: dict[str, t.Any]) -> dict[str, t.Any] | None:
        """The product one source row stands for, or None when the row changes nothing."""
        self.counts["received"] += 1
        if row.get("deleted_at"):
            self.counts["soft_deleted"] += 1
            return None
        if stream in self.tables.translated:
            product = product_fields(row)
        else:
            product = to_product(row, self.tables.sources[stream], self.tables)
        if not self.latest.admit(product["id"], row.get("updated_at")):
            self.counts["superseded"] += 1
            return None
        if product["status"] is None:
            self.counts["unmapped"] += 1
        self.counts["emitted"] += 1
        return product

    @override
    def map_state_message(self, message_dict: dict) -> t.Iterable[Message]:
        yield StateMessage(value=message_dict["value"])

    @override
    def map_activate_version_message(self, message_dict: dict) -> t.Iterable[Message]:
        # Glassdome has no delete endpoint, so a table version means nothing there.
        return []

    @override
    def map_batch_message(self, message_dict: dict) -> t.Iterable[Message]:
        stream = message_dict["stream"]
        if not self.tables.carries_products(stream):  # dropped, like its RECORDs: files too
            for url in message_dict["manifest"]:
                batches.local_path(url).unlink(missing_ok=True)
            return
        encoding = message_dict["encoding"]
        for url in message_dict["manifest"]:
            source = batches.local_path(url)
            products = (
                product
                for chunk in batches.read_records(encoding, url)
                for row in chunk
                if (product := self.product(stream, row)) is not None
            )
            translated = batches.write_jsonl_gz(
                source.parent, f"{self.output_stream}-from-{stream}", products
            )
            source.unlink(missing_ok=True)
            yield BatchMessage(
                stream=self.output_stream,
                encoding=dict(batches.JSONL_GZIP),
                manifest=[translated.as_uri()],
            )

    @override
    def process_endofpipe(self) -> None:
        logs.summary(self.logger, **self.counts)


def main() -> None:
    """Console entry point (`map-mes-glassdome --config file.yaml`)."""
    run_cli(MesToGlassdomeMapper.cli)


if __name__ == "__main__":
    main()
