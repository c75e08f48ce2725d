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
    {
        "id": f"MAT-{n}",
        "quantity": n * 1.5,
        "updated_at": dt.datetime(2024, 3, 1, 8, n, 7, 250, tzinfo=dt.UTC),
        "local_at": dt.datetime(2024, 3, 1, 8, 0, n),
        "due": dt.date(2024, 3, 1 + n),
        "note": None,
    }
    for n in range(25)
]


def test_parquet_file_is_read_in_chunks_as_record_messages_would_carry_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), path)

    chunks = list(batches.read_records({"format": "parquet"}, path.as_uri(), chunk_rows=10))

    assert [len(chunk) for chunk in chunks] == [10, 10, 5]
    rows = [row for chunk in chunks for row in chunk]
    assert rows[3] == {
        "id": "MAT-3",
        "quantity": 4.5,
        "updated_at": "2024-03-01T08:03:07.000250+00:00",
        "local_at": "2024-03-01T08:00:03.000000",
        "due": "2024-03-04",
        "note": None,
    }
    for row, original in zip(rows, ROWS, strict=True):
        assert dt.datetime.fromisoformat(row["updated_at"]) == original["updated_at"]
        assert dt.date.fromisoformat(row["due"]) == original["due"]


def test_timestamps_in_another_zone_are_written_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "zoned.parquet"
    stamps = pa.array([dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC)], pa.timestamp("ms", "+02:00"))
    pq.write_table(pa.table({"at": stamps}), path)

    (chunk,) = batches.read_records({"format": "parquet"}, str(path))

    assert chunk == [{"at": "2024-03-01T12:00:00.000+00:00"}]


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

    assert path.name.startswith("products-")
    assert path.name.endswith(".jsonl.gz")
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    (back,) = batches.read_records(batches.JSONL_GZIP, path.as_uri())
    assert back == [{"id": "MAT-1", "sku": "A", "at": "2024-03-01T00:00:00Z"}]


def test_remote_storage_and_unknown_formats_are_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only local files"):
        batches.local_path("s3://bucket/orders.parquet")
    (tmp_path / "x.csv").write_text("id\n1\n")
    with pytest.raises(ValueError, match="unsupported format 'csv'"):
        list(batches.read_records({"format": "csv"}, str(tmp_path / "x.csv")))
