"""BATCH files read back as records and written anew (connector_kit.batches)."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from connector_kit import batches

ROWS = [
    {"id": f"MAT-{n}", "sku": f"SKU-{n}", "updated_at": dt.datetime(2024, 3, 1, tzinfo=dt.UTC)}
    for n in range(25)
]


def test_parquet_file_is_read_in_chunks_with_its_types(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), path)

    chunks = list(batches.read_records({"format": "parquet"}, path.as_uri(), chunk_rows=10))

    assert [len(chunk) for chunk in chunks] == [10, 10, 5]
    assert [row for chunk in chunks for row in chunk] == ROWS


@pytest.mark.parametrize("compression", ["gzip", None])
def test_jsonl_file_is_read_in_chunks(tmp_path: Path, compression: str | None) -> None:
    lines = "".join(json.dumps({"id": f"MAT-{n}"}) + "\n" for n in range(7)) + "\n"
    path = tmp_path / "rows.jsonl"
    if compression:
        path.write_bytes(gzip.compress(lines.encode()))
    else:
        path.write_text(lines)
    encoding = {"format": "jsonl", "compression": compression}

    chunks = list(batches.read_records(encoding, str(path), chunk_rows=3))

    assert [len(chunk) for chunk in chunks] == [3, 3, 1]
    assert chunks[-1] == [{"id": "MAT-6"}]


def test_written_file_reads_back_and_no_partial_file_is_left(tmp_path: Path) -> None:
    records = [{"id": "MAT-1", "sku": "A", "at": dt.datetime(2024, 3, 1, tzinfo=dt.UTC)}]

    path = batches.write_jsonl_gz(tmp_path / "out", "products", iter(records))

    assert path.name.startswith("products-") and path.name.endswith(".jsonl.gz")
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    (back,) = batches.read_records(batches.JSONL_GZIP, path.as_uri())
    assert back == [{"id": "MAT-1", "sku": "A", "at": "2024-03-01T00:00:00Z"}]


def test_remote_storage_and_unknown_formats_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only local files"):
        batches.local_path("s3://bucket/orders.parquet")
    (tmp_path / "x.csv").write_text("id\n1\n")
    with pytest.raises(ValueError, match="unsupported format 'csv'"):
        list(batches.read_records({"format": "csv"}, str(tmp_path / "x.csv")))
