"""tap-mes bulk mode: COPY -> parquet/jsonl.gz BATCH files -> target-postgres, exactly."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.mes_warehouse.conftest import ORDERS, fingerprint
from tests.target_postgres.conftest import query, run_target

TAP = Path(sys.executable).parent / "tap-mes"


def run_tap(
    config: dict[str, Any], tmp_path: Path, state: dict | None = None
) -> list[dict[str, Any]]:
    config_path = tmp_path / "tap.json"
    config_path.write_text(json.dumps(config))
    args = [str(TAP), "--config", str(config_path)]
    if state is not None:
        state_path = tmp_path / "state.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def bulk_config(source_url: str, root: Path, fmt: str, rows: int) -> dict[str, Any]:
    return {
        "sqlalchemy_url": source_url,
        "lookback_seconds": 0,
        "batch_config": {
            "encoding": {"format": fmt, **({"compression": "gzip"} if fmt == "jsonl" else {})},
            "storage": {"root": str(root), "prefix": "mes-"},
            "batch_size": rows,
        },
    }


def last_bookmark(messages: list[dict[str, Any]], stream: str) -> Any:
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    return states[-1]["bookmarks"][stream]["replication_key_value"]


@pytest.mark.parametrize(
    ("fmt", "batch_sorted"), [("parquet", True), ("parquet", False), ("jsonl", True)]
)
def test_bulk_files_load_into_an_exact_copy(
    fmt: str, batch_sorted: bool, source_url: str, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    root = tmp_path / "batches"
    started = dt.datetime.now(dt.UTC).replace(microsecond=0)
    config = {**bulk_config(source_url, root, fmt, 7_000), "batch_sorted": batch_sorted}
    messages = run_tap(config, tmp_path)
    kinds = {m["type"] for m in messages}
    assert "RECORD" not in kinds, "bulk mode sends files, not records"
    orders = [m for m in messages if m["type"] == "BATCH" and m["stream"] == "production_orders"]
    assert len(orders) == -(-(ORDERS + 12) // 7_000)  # ceil: one file per 7k rows
    assert all(m["encoding"]["format"] == fmt for m in orders)
    # the bookmark is the snapshot's max updated_at, as on the record path (not capped at
    # the sync start, though the generated data has rows stamped up to a day ahead)
    (max_updated,) = query(source_url, "SELECT max(updated_at) FROM production_orders")[0]
    bookmark = dt.datetime.fromisoformat(last_bookmark(messages, "production_orders"))
    assert max_updated > started
    assert bookmark == max_updated
    bookmarks = [
        m["value"]["bookmarks"].get("production_orders", {}).get("replication_key_value")
        for m in messages
        if m["type"] == "STATE"
    ]
    moving = sorted({b for b in bookmarks if b})
    if fmt == "parquet" and batch_sorted:  # one bookmark per file, each file's last row
        assert len(moving) == len(orders)
    else:  # the snapshot's max, once, after the last file
        assert moving == [last_bookmark(messages, "production_orders")]

    run_target({"database_url": warehouse_url, "default_target_schema": schema}, messages)
    for table in ("production_orders", "mara", "mvke", "makt"):
        assert fingerprint(warehouse_url, f'"{schema}".{table}') == fingerprint(
            source_url, table
        ), table
    assert list(root.iterdir()) == [], "the target deletes the files it consumed"


def test_a_second_run_reads_from_the_bookmark(
    source_url: str, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    target_config = {"database_url": warehouse_url, "default_target_schema": schema}
    config = bulk_config(source_url, tmp_path / "batches", "parquet", 50_000)
    first = run_tap(config, tmp_path)
    run_target(target_config, first)
    state = [m["value"] for m in first if m["type"] == "STATE"][-1]

    changed = query(
        source_url,
        "UPDATE production_orders SET status = 'changed-' || order_id,"
        " updated_at = (SELECT max(updated_at) FROM production_orders) + interval '1 hour'"
        " WHERE order_id IN (SELECT order_id FROM production_orders ORDER BY order_id LIMIT 25)"
        " RETURNING order_id",
    )
    assert len(changed) == 25
    second = run_tap(config, tmp_path, state=state)
    files = [m for m in second if m["type"] == "BATCH" and m["stream"] == "production_orders"]
    assert len(files) == 1
    # only rows from the bookmark on (no lookback here): the row at the old bookmark (the
    # filter is >=) and the 25 changed ones
    (url,) = files[0]["manifest"]
    assert pq.read_metadata(url.removeprefix("file://")).num_rows == 1 + 25
    run_target(target_config, second)
    assert fingerprint(warehouse_url, f'"{schema}".production_orders') == fingerprint(
        source_url, "production_orders"
    )
    rows_in_warehouse = query(warehouse_url, f'SELECT count(*) FROM "{schema}".production_orders')[
        0
    ][0]
    assert rows_in_warehouse == query(source_url, "SELECT count(*) FROM production_orders")[0][0]
