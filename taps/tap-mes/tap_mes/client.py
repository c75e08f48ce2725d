"""The one base stream: an incremental, sorted read of an MES table over SQLAlchemy."""

from __future__ import annotations

import datetime as dt
import typing as t
from functools import cached_property

import sqlalchemy as sa
from singer_sdk.helpers.types import Context
from singer_sdk.singerlib import CatalogEntry, MetadataMapping, Schema
from singer_sdk.sql import SQLConnector, SQLStream
from typing_extensions import override

from tap_mes import bulk

if t.TYPE_CHECKING:
    from singer_sdk.sql.tap import SQLTap

FETCH_ROWS = 5_000  # server-side cursor page: memory stays flat on big tables


class MesConnector(SQLConnector):
    """SQLAlchemy access to the MES database; any dialect SQLAlchemy speaks."""

    allow_temp_tables = False
    allow_column_alter = False
    allow_merge_upsert = False

    @override
    def get_sqlalchemy_url(self, config: dict[str, t.Any]) -> str:
        url = str(config["sqlalchemy_url"])
        # A bare postgresql:// means psycopg 3 in newer SQLAlchemy; psycopg2 is what we ship.
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url.removeprefix("postgresql://")
        return url

    @cached_property
    def engine(self) -> sa.Engine:
        """The one engine (and pool) of this connector, for our own reads.

        The SDK's accessor is the private `_engine`; it gets this same engine through
        `create_engine`, the documented override point (docs/sdk-internals.md).
        """
        return super().create_engine()

    @override
    def create_engine(self) -> sa.Engine:
        return self.engine


class MesStream(SQLStream):
    """A table (or a configured query) read in `updated_at` order from a bookmark.

    Subclasses set `name`, `key_columns` and `properties` (and `table` if it differs from
    `name`). The read starts at the bookmark minus the lookback window, so rows committed
    late with an earlier `updated_at` are still picked up; the re-read rows are harmless
    because the targets are idempotent.
    """

    connector_class = MesConnector
    table: str = ""
    replication_key_column: str | None = "updated_at"
    key_columns: tuple[str, ...] = ()
    properties: t.ClassVar[dict[str, dict[str, t.Any]]] = {}
    # A bookmark every 1,000 rows: a killed run resumes close to where its target stopped.
    STATE_MSG_FREQUENCY = 1_000
    # Re-reading the lookback window yields values below the old bookmark: allowed, not an error.
    check_sorted = False

    def __init__(
        self,
        tap: SQLTap,
        connector: SQLConnector | None = None,
        catalog_entry: dict[str, t.Any] | None = None,
    ) -> None:
        # An input catalog entry (selection, metadata) wins over the declared one.
        entry = catalog_entry or self.catalog_entry_dict()
        super().__init__(tap=tap, catalog_entry=entry, connector=connector)
        self.replication_key = self.replication_key_column

    @classmethod
    def stream_name(cls) -> str:
        """The `name` the class or its nearest ancestor declares (the SDK's `name` is an
        instance property, so the class attribute is read from the MRO)."""
        for klass in cls.__mro__:
            name = klass.__dict__.get("name")
            if isinstance(name, str) and name:
                return name
        msg = f"{cls.__name__} declares no stream name"
        raise TypeError(msg)

    @classmethod
    def catalog_entry_dict(cls) -> dict[str, t.Any]:
        schema = {"type": "object", "properties": cls.properties}
        rk = cls.replication_key_column
        metadata = MetadataMapping.get_standard_metadata(
            schema=schema,
            key_properties=list(cls.key_columns),
            valid_replication_keys=[rk] if rk else None,
            replication_method="INCREMENTAL" if rk else "FULL_TABLE",
            selected_by_default=True,
        )
        if rk:
            metadata.root.replication_key = rk
        name = cls.stream_name()
        return CatalogEntry(
            tap_stream_id=name,
            stream=name,
            table=cls.table or name,
            key_properties=list(cls.key_columns),
            replication_key=rk,
            replication_method="INCREMENTAL" if rk else "FULL_TABLE",
            schema=Schema.from_dict(schema),
            metadata=metadata,
        ).to_dict()

    def source(self, start: dt.datetime | None = None) -> sa.FromClause:
        """The table, or a subquery for a configured stream (which may use `start`)."""
        return sa.table(self.table or self.name, *(sa.column(c) for c in self.properties))

    def start_after_lookback(self, context: Context | None) -> dt.datetime | None:
        start = self.get_starting_replication_key_value(context)
        if start is None:
            return None
        if isinstance(start, str):
            start = dt.datetime.fromisoformat(start)
        lookback = dt.timedelta(seconds=float(self.config.get("lookback_seconds", 0)))
        return t.cast("dt.datetime", start) - lookback

    @override
    def build_query(self, *, context: Context | None = None) -> sa.Select:
        start = self.start_after_lookback(context) if self.replication_key else None
        source = self.source(start)
        selected = [c for c in self.get_selected_schema()["properties"] if c in self.properties]
        query = sa.select(*(source.c[c] for c in selected))
        if self.replication_key:
            column = source.c[self.replication_key]
            if start is not None:
                query = query.where(column >= start)
            # Key columns break ties so a resumed read sees the same order.
            query = query.order_by(column, *(source.c[k] for k in self.key_columns))
        return self.apply_query_limit(query)

    @override
    def get_batches(self, batch_config: t.Any, context: Context | None = None) -> t.Iterable[t.Any]:
        """Bulk mode: on PostgreSQL, COPY the query straight into BATCH files (tap_mes.bulk)."""
        if bulk.supports(self, batch_config):
            # The SDK's batch sync skips this (its record sync does it): without it the query
            # would ignore the bookmark and every run would read the whole table.
            self._write_starting_replication_value(context)
            return bulk.get_batches(self, batch_config, context)
        return super().get_batches(batch_config, context)

    @property
    def engine(self) -> sa.Engine:
        return t.cast(MesConnector, self.connector).engine

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=FETCH_ROWS).execute(
                self.build_query(context=context)
            )
            for row in result.mappings():
                yield dict(row)
