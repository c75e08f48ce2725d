"""Where the dlt pipelines keep config and working state: inside the project.

`.dlt/config.toml` is read from the project root whatever the current directory, and the
pipelines' working folders (state, load packages, DuckDB files) live under `_pipelines/`
(git-ignored) unless DLT_DATA_DIR says otherwise, so `DLT_DATA_DIR=_pipelines dlt pipeline
<name> info` shows their state.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dlt
from connector_kit import logs
from dlt.destinations.exceptions import DatabaseUndefinedRelation
from dlt.pipeline.exceptions import PipelineNeverRan

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DLT_DATA_DIR") or PROJECT_ROOT / "_pipelines").resolve()


def pipelines_dir() -> Path:
    return data_dir() / "pipelines"


def use_project_dirs() -> None:
    """Point dlt at the project's `.dlt/` and `_pipelines/` unless the environment already does."""
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
    os.environ.setdefault("DLT_DATA_DIR", str(data_dir()))


@contextlib.contextmanager
def aliased_env(aliases: Mapping[str, str], pipeline: str) -> Iterator[None]:
    """Give dlt the seeds' variables under dlt's own names (dlt's names win when both are set).

    One line then says where the pipeline's connections point (URLs only, no credentials).
    The names set here are removed again on exit, so an in-process run (Dagster) leaves the
    process environment as it found it.
    """
    added = []
    for alias, dlt_name in aliases.items():
        if os.environ.get(alias) and not os.environ.get(dlt_name):
            os.environ[dlt_name] = os.environ[alias]
            added.append(dlt_name)
    found = {
        dlt_name.rsplit("__", 1)[-1].lower(): logs.endpoint(os.environ[dlt_name])
        for dlt_name in aliases.values()
        if "://" in os.environ.get(dlt_name, "")
    }
    logs.connections(found, pipeline=pipeline)
    try:
        yield
    finally:
        for dlt_name in added:
            os.environ.pop(dlt_name, None)


def postgres_credentials(url: str) -> str:
    """A Postgres URL dlt accepts: dlt insists on a password, trust/peer-auth servers need none.

    The placeholder is only added when the URL has no password; the server ignores it.
    """
    parts = urlsplit(url)
    if parts.username and parts.password is None:
        host = parts.netloc.split("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username}:unused@{host}")
    return urlunsplit(parts)


def table_rows(pipeline: dlt.Pipeline, table: str) -> int:
    """Rows in one of the pipeline's destination tables (0 before its first load).

    The run summary's inserted = rows after - rows before: dlt's merge does not say which
    rows were new.
    """
    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(
                f"SELECT count(*) FROM {client.make_qualified_table_name(table)}"
            )
    except (DatabaseUndefinedRelation, PipelineNeverRan):
        return 0
    return int(rows[0][0]) if rows else 0
