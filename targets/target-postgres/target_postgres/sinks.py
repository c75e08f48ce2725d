"""PostgresSink: turns SDK batches (records or BATCH files) into loader calls."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import IO, Any, Protocol

import psycopg2
from connector_kit import logs, retry
from connector_kit.deadletter import DeadLetters, send_in_halves
from connector_kit.sinks import SinkHost, sdk_target
from singer_sdk.sinks.core import BaseJSONSchemaValidator
from singer_sdk.sql import SQLSink
from typing_extensions import override
from upath import UPath

from target_postgres import loader, staging, table
from target_postgres.columns import Column, check_name_clashes, sql_type_for
from target_postgres.connector import TRANSIENT, PostgresConnector, connect
from target_postgres.validation import CompiledValidator

SDC_DELETED_AT = "_sdc_deleted_at"
SDC_TABLE_VERSION = "_sdc_table_version"


class WarehouseHost(SinkHost, Protocol):
    """What a PostgresSink uses of its target: state shared by every sink of the run."""

    @property
    def dead_letters(self) -> DeadLetters: ...

    @property
    def overwritten_tables(self) -> set[str]:
        """Tables `overwrite` emptied in this run: a later sink (schema change) must not."""
        ...


class PostgresSink(SQLSink[PostgresConnector]):
    """One stream -> one table, each batch in one transaction."""

    connector_class = PostgresConnector
    MAX_SIZE_DEFAULT = 50_000

    def __init__(self, target: WarehouseHost, *args: Any, **kwargs: Any) -> None:
        self._target_dead_letters = target.dead_letters
        self._overwritten = target.overwritten_tables
        super().__init__(sdk_target(target), *args, **kwargs)

    @override
    def get_validator(self) -> BaseJSONSchemaValidator | None:
        return CompiledValidator(self.schema) if self.validate_schema else None

    @property
    def dead_letters(self) -> DeadLetters:
        """Shared by every sink of the run (the target counts rejections at the end)."""
        return self._target_dead_letters

    @property
    def load_method(self) -> str:
        return str(self.config.get("load_method") or loader.UPSERT)

    @property
    def columns(self) -> list[Column]:
        return [
            Column(self.conform_name(prop, "column"), prop, sql_type_for(prop_schema))
            for prop, prop_schema in self.schema.get("properties", {}).items()
        ]

    @override
    def setup(self) -> None:
        self._conn = connect(dict(self.config))
        self._columns = self.columns
        check_name_clashes(self.stream_name, self._columns)
        upsert = self.load_method != loader.APPEND and bool(self.key_properties)
        key = list(self.key_properties) if upsert else []
        self._table = table.prepare(
            self._conn, self.schema_name or "public", self.table_name, self._columns, key
        )
        soft = self.config.get("soft_delete_property", "deleted_at")
        marks = [self.conform_name(soft, "column")] if soft else []
        if self.include_sdc_metadata_properties:
            marks.insert(0, SDC_DELETED_AT)
        empty = table.is_empty(self._conn, self._table)
        overwrite = self._needs_emptying()
        self._plan = loader.LoadPlan(
            table=self._table,
            key=key,
            method=self.load_method,
            hard_delete=bool(self.config.get("hard_delete", False)),
            deleted_columns=[m for m in marks if m in self._table.columns],
            # overwrite empties the table in the first transaction: a fresh load, too
            try_direct=upsert and (empty or overwrite),
            truncate_first=False,  # decided per batch: see _load
        )
        self._active_version: int | None = None
        self._totals = {"received": 0, "inserted": 0, "updated": 0, "unchanged": 0, "rejected": 0}
        self._started = time.perf_counter()
        self._progress = logs.Progress(self.logger, stream=self.stream_name)

    @override
    def process_batch(self, context: dict) -> None:
        records: list[dict[str, Any]] = context.get("records", [])
        if not records:
            return
        if self._plan.key:
            records = self._last_per_key(records)
        self._load_records(records)

    def _load_records(self, records: list[dict[str, Any]]) -> None:
        """A batch Postgres refuses is split in halves until the bad records are found;
        those go to the dead-letter file with the database's reason, the rest is loaded."""
        send_in_halves(
            records,
            lambda batch: self._load(
                staging.records_source(batch, self._columns), origin="records"
            ),
            (psycopg2.DataError, psycopg2.IntegrityError),
            self._reject,
        )

    def _reject(self, record: dict[str, Any], error: psycopg2.Error) -> None:
        reason = str(error).strip().splitlines()[0]
        self.dead_letters.add(record, reason, stream=self.stream_name, table=self._table.display)
        self._totals["rejected"] += 1
        self.logger.warning("event=record_rejected stream=%s reason=%s", self.stream_name, reason)

    def _needs_emptying(self) -> bool:
        """overwrite: the first batch of the run for this table empties it (once per run)."""
        return self.load_method == loader.OVERWRITE and self._table.display not in self._overwritten

    def _last_per_key(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Within one batch the last record of a key wins, as it would row by row."""
        props = [c.prop for c in self._columns if c.name in self._plan.key]
        latest = {tuple(r.get(p) for p in props): r for r in records}
        if len(latest) < len(records):
            self.tally_duplicate_merged(len(records) - len(latest))
            return list(latest.values())
        return records

    def _load(self, source: staging.Source, origin: str) -> int:
        started = time.perf_counter()
        self._plan.truncate_first = self._needs_emptying()
        for attempt in retry.policy(attempts=4, retry_on=TRANSIENT, logger=self.logger):
            with attempt:
                if self._conn.closed:
                    self._conn = connect(dict(self.config))
                result = loader.load(self._conn, self._plan, source)
        self._overwritten.add(self._table.display)
        self._totals["received"] += result.rows
        self._progress.add(result.rows)
        self._totals["inserted"] += result.inserted
        self._totals["updated"] += result.updated
        self._totals["unchanged"] += result.rows - result.inserted - result.updated
        self.logger.info(
            "event=batch_loaded stream=%s table=%s origin=%s path=%s rows=%d seconds=%.3f",
            self.stream_name,
            self._table.display,
            origin,
            result.path,
            result.rows,
            time.perf_counter() - started,
        )
        return result.rows

    def _flush_pending(self) -> None:
        """Write buffered RECORDs before a BATCH file or version switch, keeping message order."""
        if self.current_size:
            context = self.start_drain()
            self.process_batch(context)
            self.mark_drained()

    @override
    def process_batch_files(self, encoding: Any, files: Sequence[str]) -> None:
        self._flush_pending()
        fmt = str(getattr(encoding.format, "value", encoding.format))
        compressed = (encoding.compression or "none") in {"gzip", "gz"}
        for url in files:
            path = UPath(url)

            def opener(path: UPath = path) -> IO[bytes]:
                return path.open("rb")

            if fmt == "parquet":
                source = staging.parquet_source(opener, self._columns)
            elif fmt == "jsonl":
                source = staging.jsonl_source(opener, compressed, self._columns)
            else:
                msg = f"unsupported BATCH encoding {fmt!r} (expected jsonl or parquet)"
                raise NotImplementedError(msg)
            self._add_bookkeeping(source)
            rows = self._load(source, origin=fmt)
            self.record_counter_metric.increment(rows)
            self.tally_record_written(rows)
            if self.config.get("clean_up_batch_files", True):
                path.unlink(missing_ok=True)

    def _add_bookkeeping(self, source: staging.Source) -> None:
        """BATCH files carry only the data: fill the _sdc_* columns the SDK adds to records."""
        if not self.include_sdc_metadata_properties:
            return
        now = dt.datetime.now(dt.UTC).isoformat()
        wanted = {
            "_sdc_received_at": now,
            "_sdc_batched_at": now,
            "_sdc_sequence": round(time.time() * 1000),
            "_sdc_sync_started_at": self.sync_started_at,
            SDC_TABLE_VERSION: self._active_version,
        }
        for name, value in wanted.items():
            if name in self._table.columns and name not in source.columns and value is not None:
                source.constants[name] = value
        soft = self.config.get("soft_delete_property", "deleted_at")
        if soft and SDC_DELETED_AT not in source.columns:
            source.mirror[SDC_DELETED_AT] = self.conform_name(soft, "column")

    @override
    def activate_version(self, new_version: int) -> None:
        """Rows of older versions are soft-deleted (or removed with hard_delete)."""
        self._flush_pending()
        self._active_version = new_version
        table.ensure_column(self._conn, self._table, SDC_TABLE_VERSION, "bigint")
        table.ensure_column(self._conn, self._table, SDC_DELETED_AT, "timestamptz")
        if SDC_DELETED_AT not in self._plan.deleted_columns:
            self._plan.deleted_columns.insert(0, SDC_DELETED_AT)
        with self._conn.cursor() as cur:
            if self.config.get("hard_delete", False):
                statement = f"DELETE FROM {self._table.ident.as_string(cur)}"
                cur.execute(f"{statement} WHERE {SDC_TABLE_VERSION} < %s", (new_version,))
            else:
                cur.execute(
                    f"UPDATE {self._table.ident.as_string(cur)} SET {SDC_DELETED_AT} = now()"
                    f" WHERE {SDC_TABLE_VERSION} < %s AND {SDC_DELETED_AT} IS NULL",
                    (new_version,),
                )
            affected = cur.rowcount
        self._conn.commit()
        self.logger.info(
            "event=version_activated stream=%s version=%d older_rows=%d hard_delete=%s",
            self.stream_name,
            new_version,
            affected,
            bool(self.config.get("hard_delete", False)),
        )

    @override
    def clean_up(self) -> None:
        if hasattr(self, "_totals"):
            self._progress.stop()
            seconds = round(time.perf_counter() - self._started, 3)
            logs.summary(
                self.logger,
                stream=self.stream_name,
                table=self._table.display,
                seconds=seconds,
                **self._totals,
            )
        conn = getattr(self, "_conn", None)
        if conn is not None and not conn.closed:
            conn.close()
        super().clean_up()
