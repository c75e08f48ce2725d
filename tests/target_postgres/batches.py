"""Write BATCH files the way a bulk tap hands them over (parquet, jsonl.gz)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


def parquet_batch(stream: str, path: Path, table: pa.Table) -> dict[str, Any]:
    pq.write_table(table, path)
    return {
        "type": "BATCH",
        "stream": stream,
        "encoding": {"format": "parquet", "compression": None},
        "manifest": [path.resolve().as_uri()],
    }


def jsonl_batch(stream: str, path: Path, rows: list[str]) -> dict[str, Any]:
    """`rows` are JSON texts exactly as a tap would write them (one per line)."""
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.writelines(row + "\n" for row in rows)
    return {
        "type": "BATCH",
        "stream": stream,
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": [path.resolve().as_uri()],
    }


def dumps(value: dict[str, Any]) -> str:
    return json.dumps(value, ensure_ascii=False)
