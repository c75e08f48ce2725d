"""Run the customers pipeline: customer API -> `customers` (DuckDB, or Postgres by setting)."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import duckdb
from connector_kit.logs import Progress, kv, summary
from dlt.common.pipeline import LoadInfo
from dlt.extract import DltSource
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.customers import customers_source
from pipelines.customers.settings import (
    DEFAULT_DATASET,
    FILE_FORMATS,
    PIPELINE_NAME,
    REJECTS_TABLE,
    TABLE,
)
from pipelines.dlt_project import (
    LoadSetAside,
    data_dir,
    load_pending,
    pipelines_dir,
    postgres_credentials,
    refused_for_good,
    set_aside,
    table_rows,
    use_project_dirs,
)

log = logging.getLogger("pipelines.customers")


def duckdb_file(credentials: Any = None) -> Path:
    """The DuckDB file: given, configured, or in the project's `_pipelines/` folder."""
    path = (
        credentials
        or dlt.config.get("sources.customers.duckdb_path")
        or data_dir() / f"{PIPELINE_NAME}.duckdb"
    )
    file = Path(path).resolve()
    file.parent.mkdir(parents=True, exist_ok=True)
    return file


def destination_for(name: str, credentials: Any = None) -> Any:
    """DuckDB lands in the project's `_pipelines/` folder; other destinations use dlt's config.

    For DuckDB, `credentials` may be an open connection, which dlt then borrows instead of
    opening the file again for each step of the load (about 20 opens, 5-9 ms each).
    """
    if name == "duckdb":
        if isinstance(credentials, duckdb.DuckDBPyConnection):
            return dlt.destinations.duckdb(credentials=credentials)
        return dlt.destinations.duckdb(credentials=str(duckdb_file(credentials)))
    if name == "postgres":
        credentials = credentials or dlt.secrets.get("destination.postgres.credentials")
        if isinstance(credentials, str):
            return dlt.destinations.postgres(credentials=postgres_credentials(credentials))
    return name


def build_pipeline(
    destination: str | None = None,
    credentials: Any = None,
    dataset_name: str | None = None,
    pipelines_dir_: Path | None = None,
) -> dlt.Pipeline:
    use_project_dirs()
    name = destination or dlt.config.get("sources.customers.destination") or "duckdb"
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=destination_for(name, credentials),
        dataset_name=dataset_name
        or dlt.config.get("sources.customers.dataset_name")
        or DEFAULT_DATASET,
        pipelines_dir=str(pipelines_dir_ or pipelines_dir()),
    )


@contextlib.contextmanager
def prepared(
    base_url: str | None = None,
    *,
    destination: str | None = None,
    credentials: Any = None,
    dataset_name: str | None = None,
    pipelines_dir_: Path | None = None,
    page_size: int | None = None,
    page_stripes: int | None = None,
) -> Iterator[tuple[dlt.Pipeline, DltSource, Any]]:
    """The pipeline, the source and the loader file format of one sync, ready to run.

    `run` below runs them; the Dagster asset (orchestrate/) runs the same three through
    dagster-dlt. A DuckDB connection opened here is lent to dlt and closed on exit.
    """
    use_project_dirs()
    name = destination or dlt.config.get("sources.customers.destination") or "duckdb"
    with contextlib.ExitStack() as scope:
        if name == "duckdb" and not isinstance(credentials, duckdb.DuckDBPyConnection):
            # one connection for the whole run, lent to dlt (closed here, not by dlt)
            credentials = scope.enter_context(duckdb.connect(str(duckdb_file(credentials))))
        pipeline = build_pipeline(name, credentials, dataset_name, pipelines_dir_)
        kwargs: dict[str, Any] = {}
        if base_url:
            kwargs["base_url"] = base_url
        if page_size:
            kwargs["page_size"] = page_size
        if page_stripes:
            kwargs["page_stripes"] = page_stripes
        source = customers_source(**kwargs)
        file_format: Any = dlt.config.get(
            "sources.customers.loader_file_format"
        ) or FILE_FORMATS.get(pipeline.destination.destination_name)
        log.info(
            "sync start %s",
            kv(
                pipeline=PIPELINE_NAME,
                destination=pipeline.destination.destination_name,
                dataset=pipeline.dataset_name,
                file_format=file_format or "default",
            ),
        )
        yield pipeline, source, file_format


def run(base_url: str | None = None, **options: Any) -> LoadInfo:
    """One full sync (arguments as `prepared`); returns dlt's load info.

    Raises when the API fails after retries, or when the destination refuses the load (the
    package is then set aside, so the next run is not blocked).
    """
    with prepared(base_url, **options) as (pipeline, source, file_format):
        load_pending(pipeline)  # a package an earlier run left, or set aside if refused
        started, before = time.perf_counter(), table_rows(pipeline, TABLE)
        with Progress(log, pipeline=PIPELINE_NAME) as progress:
            source.resources[TABLE].add_map(progress.counter(_rows))
            try:
                info = pipeline.run(source, loader_file_format=file_format)
            except PipelineStepFailed as exc:
                refused = refused_for_good(pipeline, exc)
                if refused is None:
                    raise
                set_aside(pipeline, *refused)  # the next run starts clean; this one still fails
                load_id, reason = refused
                raise LoadSetAside(f"load refused, package {load_id} set aside: {reason}") from exc
        inserted = table_rows(pipeline, TABLE) - before
    rows, rejected = row_count(info, TABLE), row_count(info, REJECTS_TABLE)
    # The API has no change feed: every run reads every customer and the merge rewrites each
    # one it already holds, so all of those count as updated.
    summary(
        log,
        pipeline=PIPELINE_NAME,
        read=rows + rejected,
        inserted=inserted,
        updated=rows - inserted,
        rejected=rejected,
        loads=len(info.loads_ids),
        seconds=round(time.perf_counter() - started, 3),
    )
    return info


def row_count(info: LoadInfo, table: str) -> int:
    """Rows this run wrote to `table` (`customers`, or `customer_rejects`)."""
    trace = info.pipeline.last_trace if info.pipeline else None  # type: ignore[attr-defined]
    normalized = trace.last_normalize_info if trace else None
    return normalized.row_counts.get(table, 0) if normalized else 0


def _rows(item: Any) -> int:
    """Rows in one item of the customers resource: an Arrow table, a list of rows, or a row."""
    rows = getattr(item, "num_rows", None)
    if rows is not None:
        return int(rows)
    return len(item) if isinstance(item, list) else 1
