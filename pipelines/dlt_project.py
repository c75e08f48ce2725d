"""Where the dlt pipelines keep config and working state: inside the project.

`.dlt/config.toml` is read from the project root whatever the current directory, and the
pipelines' working folders (state, load packages, DuckDB files) live under `_pipelines/`
(git-ignored) unless DLT_DATA_DIR says otherwise, so `DLT_DATA_DIR=_pipelines dlt pipeline
<name> info` shows their state.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit, urlunsplit

from connector_kit import logs

if TYPE_CHECKING:
    import dlt

log = logging.getLogger("pipelines")

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
    """A Postgres URL dlt accepts, from any the user may give.

    - A driver suffix (`postgresql+psycopg2://`, SQLAlchemy style) means nothing to dlt: dropped.
    - dlt insists on a password, where libpq would take PGPASSWORD or need none (trust/peer
      auth). A URL without one gets PGPASSWORD, else a placeholder the server ignores.
    The URL and the password are registered as secrets: logs mask them.
    """
    logs.register_secret(url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.username and parts.password is None:
        userinfo, host = netloc.rsplit("@", 1)
        logs.register_secret(os.environ.get("PGPASSWORD"))
        password = quote(os.environ.get("PGPASSWORD") or "unused", safe="")
        netloc = f"{userinfo}:{password}@{host}"
    return urlunsplit(("postgresql", netloc, parts.path, parts.query, parts.fragment))


def table_rows(pipeline: dlt.Pipeline, table: str) -> int:
    """Rows in one of the pipeline's destination tables (0 before its first load).

    The run summary's inserted = rows after - rows before: dlt's merge does not say which
    rows were new.
    """
    from dlt.destinations.exceptions import DatabaseUndefinedRelation
    from dlt.pipeline.exceptions import PipelineNeverRan

    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql(
                f"SELECT count(*) FROM {client.make_qualified_table_name(table)}"
            )
    except (DatabaseUndefinedRelation, PipelineNeverRan):
        return 0
    return int(rows[0][0]) if rows else 0


def run_entry(pipeline: str, body: Callable[[], int]) -> int:
    """A pipeline's command: logs set up, and every failure one line with exit code 1.

    What failed (the pipeline, and dlt's step), and the error's own words, which name where
    (host, URL, folder) and what to check. The traceback only with LOG_LEVEL=DEBUG; dlt's own
    log, which quotes tracebacks, is then shown too (otherwise only its critical lines).
    """
    logs.configure()
    if not logs.debug_enabled():
        os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
    log = logging.getLogger(f"pipelines.{pipeline}")
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.pipeline.exceptions import PipelineStepFailed

    try:
        return body()
    except ConfigFieldMissingException as exc:
        log.error("config missing %s", logs.kv(pipeline=pipeline, fields=",".join(exc.fields)))
        return 2
    except PipelineStepFailed as exc:
        logs.failure(log, "sync failed", exc.exception, pipeline=pipeline, step=exc.step)
        return 1
    except Exception as exc:
        logs.failure(log, "sync failed", exc, pipeline=pipeline)
        return 1


class LoadSetAside(Exception):
    """This run's load was refused by the destination and set aside (the run failed)."""


def refused_for_good(pipeline: dlt.Pipeline, error: BaseException) -> tuple[str, str] | None:
    """(load id, reason) when the destination answered and refused a job of a package.

    dlt has then retried the job already and the package stays pending, so every later run
    would fail on it first. When the destination does not answer at all, the failure may
    pass (a restart, the network): None, and the package stays for the next run.
    """
    from dlt.common.destination.exceptions import DestinationHasFailedJobs
    from dlt.load.exceptions import LoadClientJobException
    from dlt.pipeline.exceptions import PipelineStepFailed

    cause = error.exception if isinstance(error, PipelineStepFailed) else error
    if isinstance(cause, LoadClientJobException):
        job, message = cause.job_id, getattr(cause, "failed_message", None) or str(cause)
        load_id = cause.load_id
    elif isinstance(cause, DestinationHasFailedJobs):
        job = ", ".join(str(j.job_file_info.job_id()) for j in cause.failed_jobs)
        message = "; ".join(str(j.failed_message) for j in cause.failed_jobs)
        load_id = cause.load_id
    else:
        return None
    try:
        with pipeline.sql_client() as client:
            client.execute_sql("SELECT 1")
    except Exception:  # whatever the driver raises: it does not answer
        log.debug("destination does not answer", exc_info=True)
        return None
    return str(load_id), logs.mask(f"{job}: {logs.error_line(message)}")


def set_aside(pipeline: dlt.Pipeline, load_id: str, reason: str, **context: object) -> None:
    """Abort a package the destination refuses, with dlt's own abort: the package is kept,
    with its failed jobs and their messages, among the completed packages
    (`dlt pipeline <name> load-package <load id>`), and no longer blocks a run."""
    if load_id in pipeline.list_normalized_load_packages():  # not completed already
        pipeline.abort_packages(load_id)
    log.error(
        "load refused, package set aside %s",
        logs.kv(pipeline=pipeline.pipeline_name, load_id=load_id, **context, reason=reason),
    )


def load_pending(
    pipeline: dlt.Pipeline, on_set_aside: Callable[[str, str], None] | None = None
) -> None:
    """Load what an earlier run left; set aside each package the destination refuses.

    `on_set_aside(load_id, reason)` runs before the package is aborted (its state is still
    readable). Raises when the destination does not answer: the packages stay pending.
    """
    from dlt.common.destination.exceptions import DestinationHasFailedJobs
    from dlt.pipeline.exceptions import PipelineStepFailed

    while pipeline.has_pending_data:
        log.info("loading pending packages %s", logs.kv(pipeline=pipeline.pipeline_name))
        try:
            pipeline.normalize()
            pipeline.load()
            return
        except (PipelineStepFailed, DestinationHasFailedJobs) as exc:
            refused = refused_for_good(pipeline, exc)
            if refused is None:
                raise
            if on_set_aside is not None:
                on_set_aside(*refused)
            else:
                set_aside(pipeline, *refused)
