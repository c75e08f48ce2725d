"""TargetPostgres: settings and wiring only; the work is in sinks.py and loader.py."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

import psycopg2
from connector_kit.config_files import run_cli
from connector_kit.deadletter import DeadLetters, rejects_exit_code
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.sql import SQLTarget
from typing_extensions import override

from target_postgres.columns import ColumnNameClashError, IncompatibleColumnTypeError
from target_postgres.sinks import PostgresSink, WarehouseHost


class TargetPostgres(SQLTarget):
    """Singer target for PostgreSQL: COPY + one INSERT ... ON CONFLICT per batch."""

    name = "target-postgres"
    default_sink_class = PostgresSink

    config_jsonschema = th.PropertiesList(
        th.Property(
            "database_url",
            th.StringType,
            secret=True,
            title="Database URL",
            description="postgresql://user:password@host:port/db. Wins over the parts below; "
            "when neither is set, $DATABASE_URL is used.",
        ),
        th.Property(
            "host", th.StringType, title="Host", description="Server host, when no database_url."
        ),
        th.Property("port", th.IntegerType, default=5432, title="Port", description="Server port."),
        th.Property(
            "user", th.StringType, default="postgres", title="User", description="Login role."
        ),
        th.Property(
            "password", th.StringType, secret=True, title="Password", description="Login password."
        ),
        th.Property("database", th.StringType, title="Database", description="Database name."),
        th.Property(
            "sslmode", th.StringType, title="SSL mode", description="libpq sslmode, e.g. require."
        ),
        th.Property(
            "default_target_schema",
            th.StringType,
            title="Default target schema",
            description="Schema for every stream. Unset: `<schema>-<table>` stream names give "
            "the schema, others go to public.",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=50_000,
            title="Batch size (rows)",
            description="RECORD messages buffered per stream before one COPY + merge transaction.",
        ),
        th.Property(
            "load_method",
            th.StringType,
            default="upsert",
            allowed_values=["upsert", "append-only", "overwrite"],
            title="Load method",
            description="upsert: INSERT ... ON CONFLICT on the stream key (keyless streams "
            "append); append-only: always insert; overwrite: empty the table in the first batch's "
            "transaction, then upsert.",
        ),
        th.Property(
            "hard_delete",
            th.BooleanType,
            default=False,
            title="Hard delete",
            description="Delete rows whose record is marked deleted (_sdc_deleted_at or "
            "soft_delete_property set) or whose version is older than an ACTIVATE_VERSION, "
            "instead of keeping them soft-deleted.",
        ),
        th.Property(
            "soft_delete_property",
            th.StringType,
            default="deleted_at",
            title="Soft delete property",
            description="Record property whose non-null value marks the record deleted (the "
            "source's own soft delete). Empty string: only _sdc_deleted_at counts.",
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=True,
            title="Validate records",
            description="JSON Schema validation of RECORD messages (the largest per-record "
            "cost). Turn off for trusted taps; BATCH files are never validated row by row.",
        ),
        th.Property(
            "add_record_metadata",
            th.BooleanType,
            default=False,
            title="Add record metadata",
            description="Add the _sdc_extracted_at/_received_at/_batched_at/_deleted_at/"
            "_sequence/_table_version/_sync_started_at columns.",
        ),
        th.Property(
            "dead_letter_path",
            th.StringType,
            title="Dead-letter file",
            description="JSONL file receiving each record Postgres refused (bad value, NOT "
            "NULL, ...) with the database's reason; the rest of its batch is loaded. "
            "Default: warehouse.jsonl in $DEAD_LETTER_DIR or ./output/dead-letter.",
        ),
        th.Property(
            "fail_on_rejects",
            th.BooleanType,
            default=True,
            title="Fail on rejects",
            description="Exit non-zero when any record was rejected (after loading the rest).",
        ),
        th.Property(
            "clean_up_batch_files",
            th.BooleanType,
            default=True,
            title="Clean up batch files",
            description="Delete each BATCH file once its rows are committed.",
        ),
    ).to_dict()

    @cached_property
    def overwritten_tables(self) -> set[str]:
        return set()

    @cached_property
    def dead_letters(self) -> DeadLetters:
        return DeadLetters.for_plugin("warehouse.jsonl", path=self.config.get("dead_letter_path"))

    @override
    def process_endofpipe(self) -> None:
        super().process_endofpipe()
        if code := rejects_exit_code(
            self.dead_letters.count,
            self.config.get("fail_on_rejects", True),
            self.logger,
            dead_letter=self.dead_letters.path,
        ):
            raise SystemExit(code)

    @classmethod
    @override
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Expected failures end with one error line and exit code 1, not a stack trace."""
        try:
            super().invoke(*args, **kwargs)
        except (
            IncompatibleColumnTypeError,
            ColumnNameClashError,
            ConfigValidationError,
            psycopg2.Error,
        ) as exc:
            cls.logger.error("event=load_failed error=%s reason=%s", type(exc).__name__, exc)
            sys.exit(1)


def _hosts_its_sinks(target: TargetPostgres) -> WarehouseHost:
    return target  # mypy checks here that the target has what its sinks use


def main() -> None:
    """Console entry point (`target-postgres --config file.yaml`)."""
    run_cli(TargetPostgres.cli)


if __name__ == "__main__":
    main()
