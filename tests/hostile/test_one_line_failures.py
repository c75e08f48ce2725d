"""Expected failures read as one line: what failed, where, what to check; exit code non-zero.

Before: a database or API that was down printed a traceback (the aggregator database: only
a traceback, no log line at all), and a failed dlt load put dlt's traceback inside error=.
Now every entry point (connector_kit.config_files.run_cli for the Singer plugins,
pipelines.dlt_project.run_entry for the dlt pipelines) logs one line; the traceback only
with LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sandbox.settings import PROJECT_ROOT, SandboxConfig
from tests.conftest import VENV_BIN

from .data_fixtures import fresh_db, query

__all__ = ["fresh_db"]
pytestmark = pytest.mark.e2e
DEAD = "127.0.0.1:1"  # nothing listens on port 1


def shell(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=PROJECT_ROOT,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false", **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " failed " in line and "error=" in line]


def assert_one_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = error_lines(result.stderr)
    assert len(lines) == 1, result.stderr[-2000:]
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def write(path: Path, config: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def glassdome_pipe(sandbox_cfg: SandboxConfig, tmp_path: Path):  # type: ignore[no-untyped-def]
    """`tap-mes | map-mes-glassdome | target-glassdome` with the target's config changed."""
    tap = write(tmp_path / "mes.yaml", {"sqlalchemy_url": sandbox_cfg.postgres_url("mes")})

    def command(**target: object) -> str:
        config = {
            "api_url": sandbox_cfg.http_url("glassdome"),
            "api_key": sandbox_cfg.env["GLASSDOME_API_KEY"],
            "dead_letter_path": str(tmp_path / "dl.jsonl"),
            "retry_attempts": 2,
            "retry_initial_wait": 0.05,
            **target,
        }
        target_file = write(tmp_path / "glassdome.yaml", config)
        return (
            f"{VENV_BIN}/tap-mes --config {tap} | {VENV_BIN}/map-mes-glassdome"
            f" | {VENV_BIN}/target-glassdome --config {target_file}"
        )

    return command


def test_glassdome_api_down(glassdome_pipe) -> None:  # type: ignore[no-untyped-def]
    line = assert_one_line(
        shell(glassdome_pipe(api_url=f"http://{DEAD}")), "target-glassdome failed", "/products"
    )
    assert "127.0.0.1" in line
    assert "Connection refused" in line


def test_glassdome_401_names_the_url_and_the_key(glassdome_pipe) -> None:  # type: ignore[no-untyped-def]
    line = assert_one_line(
        shell(glassdome_pipe(api_key="pat_wrong")), "target-glassdome failed", "HTTP 401"
    )
    assert "/products" in line
    assert "check the API key" in line
    assert "pat_wrong" not in line


def test_mes_database_down_then_up(sandbox_cfg: SandboxConfig, tmp_path: Path) -> None:
    down = write(tmp_path / "down.yaml", {"sqlalchemy_url": f"postgresql://u:pw@{DEAD}/mes"})
    line = assert_one_line(
        shell(f"{VENV_BIN}/tap-mes --config {down} > /dev/null"), "tap-mes failed", "port 1"
    )
    assert ":pw@" not in line
    # with LOG_LEVEL=DEBUG the same failure brings its traceback
    debug = shell(f"{VENV_BIN}/tap-mes --config {down} > /dev/null", LOG_LEVEL="DEBUG")
    assert "Traceback" in debug.stderr
    # nothing is left in the way: the next run against the database that is up works
    up = write(tmp_path / "up.yaml", {"sqlalchemy_url": sandbox_cfg.postgres_url("mes")})
    assert shell(f"{VENV_BIN}/tap-mes --config {up} > /dev/null").returncode == 0


def test_outbound_folder_not_writable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    outbound = tmp_path / "a-file" / "outbound"  # cannot be created, even by root
    config = write(tmp_path / "out.yaml", {"outbound_dir": str(outbound)})
    schema = '{"type":"SCHEMA","stream":"workorders","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}'
    record = '{"type":"RECORD","stream":"workorders","record":{"id":1}}'
    result = shell(
        f"printf '%s\\n%s\\n' '{schema}' '{record}' | {VENV_BIN}/target-client-json --config {config}"
    )
    assert_one_line(result, "target-client-json failed", str(outbound))


def test_aggregator_database_down(sandbox_cfg: SandboxConfig, tmp_path: Path) -> None:
    result = shell(
        f"{sys.executable} -m pipelines.offers",
        OFFERS_SERVICE_URL=sandbox_cfg.http_url("offers"),
        OFFERS_REFRESH_TOKEN=sandbox_cfg.env["OFFERS_REFRESH_TOKEN"],
        AGGREGATOR_DATABASE_URL=f"postgresql://postgres:s3cret@{DEAD}/aggregator",
        DLT_DATA_DIR=str(tmp_path),
    )
    assert_one_line(result, "sync failed pipeline=offers", "port 1")
    assert "s3cret" not in result.stderr


def test_failed_dlt_load_is_one_line_and_the_next_run_is_free(
    sandbox_cfg: SandboxConfig, fresh_db: str, tmp_path: Path
) -> None:
    env = {
        "CUSTOMERS_API_URL": sandbox_cfg.http_url("customers"),
        "DATABASE_URL": fresh_db,
        "DLT_DATA_DIR": str(tmp_path),
    }
    command = f"{sys.executable} -m pipelines.customers --destination postgres"
    assert shell(command, **env).returncode == 0
    # the destination refuses the load: a constraint the pipeline knows nothing about
    query(
        fresh_db,
        "ALTER TABLE customer_data.customers ADD CONSTRAINT no_cust001"
        " CHECK (customer_id <> 'CUST001') NOT VALID",
    )
    refused = shell(command, **env)
    line = assert_one_line(refused, "sync failed pipeline=customers", "load refused", "no_cust001")
    assert "File " not in line  # no traceback quoted inside error=
    assert "load refused, package set aside pipeline=customers" in refused.stderr

    query(fresh_db, "ALTER TABLE customer_data.customers DROP CONSTRAINT no_cust001")
    again = shell(command, **env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(query(fresh_db, "SELECT 1 FROM customer_data.customers")) == 25
