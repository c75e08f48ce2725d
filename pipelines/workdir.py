"""Where the dlt pipelines keep their config and working state: inside the project.

`.dlt/config.toml` is read from the project root whatever the current directory, and the
pipelines' working folders (state, load packages, DuckDB files) live under `_pipelines/`
(git-ignored) unless DLT_DATA_DIR says otherwise, so `DLT_DATA_DIR=_pipelines dlt pipeline
<name> info` shows their state.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DLT_DATA_DIR") or PROJECT_ROOT / "_pipelines").resolve()


def pipelines_dir() -> Path:
    return data_dir() / "pipelines"


def use_project_dirs() -> None:
    """Point dlt at the project's `.dlt/` and `_pipelines/` unless the environment already does."""
    os.environ.setdefault("DLT_PROJECT_DIR", str(PROJECT_ROOT))
    os.environ.setdefault("DLT_DATA_DIR", str(data_dir()))
