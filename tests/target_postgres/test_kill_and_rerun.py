"""kill -9 in the middle of a load, then a rerun: the table equals the source exactly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from sandbox import mes
from sandbox.postgres import ensure_databases
from sandbox.settings import SandboxConfig
from tests.target_postgres.conftest import query

SOURCE_DB = "target_pg_source"
ORDERS = 30_000
TARGET_BIN = Path(sys.executable).parent / "target-postgres"
COLUMNS = (
    "order_id, material_number, sku, status, quantity, plant, created_at, updated_at, deleted_at"
)
PROPS = {
    "order_id": {"type": "integer"},
    "material_number": {"type": "string"},
    "sku": {"type": "string"},
    "status": {"type": "string"},
    "quantity": {"type": "number"},
    "plant": {"type": "string"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "deleted_at": {"type": ["string", "null"], "format": "date-time"},
}


@pytest.fixture(scope="module")
def source_url(sandbox_cfg: SandboxConfig) -> str:
    """A database of its own (not the shared mes one) with generated production orders."""
    ensure_databases(sandbox_cfg.postgres_url(), [SOURCE_DB])
    url = sandbox_cfg.postgres_url(SOURCE_DB)
    mes.create_schema(url, with_seed=True)
    if query(url, "SELECT count(*) FROM production_orders")[0][0] < ORDERS:
        mes.generate(url, ORDERS)
    return url


def _messages(url: str) -> list[bytes]:
    """The stream as a tap would send it: SCHEMA, RECORDs (row_to_json keeps numbers exact)."""
    lines = [
        json.dumps(
            {
                "type": "SCHEMA",
                "stream": "production_orders",
                "schema": {"properties": PROPS},
                "key_properties": ["order_id"],
            }
        )
    ]
    conn = psycopg2.connect(url, options="-c TimeZone=UTC")
    with conn.cursor() as cur:
        cur.execute(
            f"SELECT row_to_json(t)::text FROM (SELECT {COLUMNS} FROM production_orders) t"
            " ORDER BY 1"
        )
        lines += [
            '{"type":"RECORD","stream":"production_orders","record":' + r[0] + "}" for r in cur
        ]
    conn.close()
    lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {"production_orders": {}}}}))
    return [(line + "\n").encode() for line in lines]


def _fingerprint(url: str, table: str) -> tuple[int, str]:
    return query(
        url,
        f"SELECT count(*), md5(string_agg(row({COLUMNS})::text, '|' ORDER BY order_id))"
        f" FROM {table}",
    )[0]


def _start_target(config_path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(TARGET_BIN), "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def test_kill_mid_load_then_rerun_equals_source(
    source_url: str, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    config_path = tmp_path / "config.json"
    config: dict[str, Any] = {
        "database_url": warehouse_url,
        "default_target_schema": schema,
        "batch_size_rows": 2_000,
        "validate_records": False,
    }
    config_path.write_text(json.dumps(config))
    messages = _messages(source_url)
    table = f'"{schema}".production_orders'

    # first run: half the stream, then kill -9 while the target still holds buffered records
    target = _start_target(config_path)
    assert target.stdin is not None
    half = len(messages) // 2
    target.stdin.writelines(messages[:half])
    target.stdin.flush()
    deadline = time.monotonic() + 60
    loaded = 0
    while time.monotonic() < deadline:
        rows = query(warehouse_url, "SELECT to_regclass(%s) IS NOT NULL", (table,))[0][0]
        loaded = query(warehouse_url, f"SELECT count(*) FROM {table}")[0][0] if rows else 0
        if loaded >= 4_000:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the target loaded {loaded} rows in 60 s; the kill needs a partial load")
    os.kill(target.pid, signal.SIGKILL)
    target.wait(timeout=30)
    assert target.returncode == -signal.SIGKILL
    partial = query(warehouse_url, f"SELECT count(*) FROM {table}")[0][0]
    assert 0 < partial < ORDERS, "the kill left a partial load"

    # rerun the whole stream (the state never advanced): exact copy, no duplicates
    rerun = subprocess.run(
        [str(TARGET_BIN), "--config", str(config_path)],
        input=b"".join(messages),
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    assert _fingerprint(warehouse_url, table) == _fingerprint(source_url, "production_orders")


def test_a_dropped_connection_between_batches_is_retried(
    source_url: str, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    config_path = tmp_path / "config.json"
    config_path.write_text(
        json.dumps(
            {
                "database_url": warehouse_url,
                "default_target_schema": schema,
                "batch_size_rows": 2_000,
                "validate_records": False,
            }
        )
    )
    messages = _messages(source_url)
    table = f'"{schema}".production_orders'
    target = _start_target(config_path)
    assert target.stdin is not None
    half = len(messages) // 2
    target.stdin.writelines(messages[:half])
    target.stdin.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        exists = query(warehouse_url, "SELECT to_regclass(%s) IS NOT NULL", (table,))[0][0]
        if exists and query(warehouse_url, f"SELECT count(*) FROM {table}")[0][0] >= 4_000:
            break
        time.sleep(0.05)
    dropped = query(
        warehouse_url,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'target-postgres' AND pid <> pg_backend_pid()",
    )[0][0]
    assert dropped >= 1
    target.stdin.writelines(messages[half:])
    target.stdin.close()
    assert target.wait(timeout=120) == 0
    assert _fingerprint(warehouse_url, table) == _fingerprint(source_url, "production_orders")
