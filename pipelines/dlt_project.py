"""Where the dlt pipelines keep config and working state: inside the project.

`.dlt/config.toml` is read from the project root whatever the current directory, and the
pipelines' working folders (state, load packages, DuckDB files) live under `_pipelines/`
(git-ignored) unless DLT_DATA_DIR says otherwise, so `DLT_DATA_DIR=_pipelines dlt pipeline
<name> info` shows their state.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from connector_kit import logs

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DLT_DATA_DIR") or PROJECT_ROOT / "_pipelines").resolve()


def pipelines_dir() -> Path:
    return data_dir() / "pipelines"


def use_project_dirs() -> None:
    """Point dlt at the project's `.dlt/` and `_pipelines/` unless the environment already does."""
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
    os.environ.setdefault("DLT_DATA_DIR", str(data_dir()))


def postgres_credentials(url: str) -> str:
    """A Postgres URL dlt accepts: dlt insists on a password, trust/peer-auth servers need none.

    The placeholder is only added when the URL has no password; the server ignores it.
    """
    parts = urlsplit(url)
    if parts.username and parts.password is None:
        host = parts.netloc.split("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username}:unused@{host}")
    return urlunsplit(parts)


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
    except Exception as exc:  # noqa: BLE001  (a database or service down: one line, exit 1)
        logs.failure(log, "sync failed", exc, pipeline=pipeline)
        return 1
