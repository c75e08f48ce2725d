"""Awkward values round-trip exactly through every input path: RECORD, parquet, jsonl.gz.

NUL (U+0000) is the one documented exception: Postgres text cannot hold it, so it is
stored as U+FFFD; the literal six characters backslash-u-0-0-0-0 are kept as they are.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.target_postgres.batches import jsonl_batch, parquet_batch
from tests.target_postgres.conftest import query, record, run_target, schema_message

PROPS = {
    "id": {"type": "integer"},
    "amount": {"type": ["number", "null"]},
    "at": {"type": ["string", "null"], "format": "date-time"},
    "day": {"type": ["string", "null"], "format": "date"},
    "doc": {"type": ["object", "null"]},
    "tags": {"type": ["array", "null"]},
    "note": {"type": ["string", "null"]},
}

TEXTS = [
    "quote \" single ' backslash \\ tab \t end",
    "line\nbreak\r\nwindows",
    "unicode: ü 简单 😀 \u2028",
    "nul:\x00:end",
    "literal \\u0000 stays",
    "\\N",
    "\\.",
    "",
    ",;|",
]
AMOUNTS = [
    "12345678901234567890.123456789",
    "-0.000000001",
    "0",
    "100",
    "1.10",
    "3.14159",
    "-42",
    "0.5",
    "7",
]
INSTANTS = [
    "2024-02-29T23:59:59.999999+05:30",
    "1999-12-31T23:00:00-08:00",
    "2024-01-01T00:00:00Z",
    "2030-06-30T12:34:56.123456+00:00",
    "1970-01-01T00:00:00+00:00",
    "2024-10-27T01:30:00+01:00",
    "2000-01-01T00:00:00.000001Z",
    "2024-03-31T02:30:00+02:00",
    "2025-12-31T23:59:59Z",
]


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i, (text, amount, instant) in enumerate(
        zip(TEXTS, AMOUNTS, INSTANTS, strict=True), start=1
    ):
        rows.append(
            {
                "id": i,
                "amount": amount,  # JSON number text, exact
                "at": instant,
                "day": f"2024-02-{10 + i:02d}",
                "doc": {"text": text, "n": [1, 2.5, None], "big": "BIG", "nested": {"ok": True}},
                "tags": [text, i, {"k": "v"}],
                "note": text,
            }
        )
    rows.append(
        {"id": 99, "amount": None, "at": None, "day": None, "doc": None, "tags": None, "note": None}
    )
    return rows


def _json_line(row: dict[str, Any]) -> str:
    """A JSON text with `amount` and the nested 'big' as exact number literals."""
    text = json.dumps({**row, "amount": "@AMOUNT@"}, ensure_ascii=False)
    text = text.replace('"@AMOUNT@"', row["amount"] if row["amount"] is not None else "null")
    return text.replace('"BIG"', "98765432109876543210.000000000001")


def _expected_text(text: str) -> str:
    return text.replace("\x00", "\ufffd")


def _expected_json(value: Any) -> Any:
    if isinstance(value, str):
        return _expected_text(value)
    if isinstance(value, dict):
        return {k: _expected_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expected_json(v) for v in value]
    return value


def _check(url: str, schema: str, *, exact_scale: bool = True) -> None:
    rows = {r["id"]: r for r in _rows()}
    got = query(
        url,
        f'SELECT id, amount, "at", day, doc::text, tags::text, note FROM "{schema}".awkward'
        " ORDER BY id",
    )
    assert [g[0] for g in got] == sorted(rows)
    for rid, amount, at, day, doc, tags, note in got:
        want = rows[rid]
        if rid == 99:
            assert (amount, at, day, doc, tags, note) == (None, None, None, None, None, None)
            continue
        assert amount == Decimal(want["amount"])
        if exact_scale:  # parquet decimal128(38, 9) carries its own fixed scale
            assert amount.as_tuple() == Decimal(want["amount"]).as_tuple()
        assert at == dt.datetime.fromisoformat(want["at"].replace("Z", "+00:00"))
        assert day == dt.date.fromisoformat(want["day"])
        assert note == _expected_text(want["note"])
        # compare json in Postgres itself: exact numbers, key order irrelevant
        expected_doc = _json_line({"d": _expected_json(want["doc"]), "amount": None})
        (same,) = query(url, "SELECT %s::jsonb -> 'd' = %s::jsonb", (expected_doc, doc))[0]
        assert same, (doc, expected_doc)
        assert json.loads(tags) == [_expected_text(want["tags"][0]), rid, {"k": "v"}]


def test_records_round_trip(config: dict, warehouse_url: str, schema: str) -> None:
    lines = [json.dumps(schema_message("awkward", PROPS, ["id"]))]
    lines += [
        '{"type": "RECORD", "stream": "awkward", "record": ' + _json_line(r) + "}" for r in _rows()
    ]
    run_target(config, "\n".join(lines) + "\n")
    _check(warehouse_url, schema)


def test_jsonl_batch_round_trip(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    batch = jsonl_batch("awkward", tmp_path / "a.jsonl.gz", [_json_line(r) for r in _rows()])
    run_target(config, [schema_message("awkward", PROPS, ["id"]), batch])
    _check(warehouse_url, schema)


@pytest.mark.parametrize("existing_rows", [False, True], ids=["direct-copy", "staged-upsert"])
def test_parquet_batch_round_trip(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path, existing_rows: bool
) -> None:
    if existing_rows:  # a non-empty table takes the staging + ON CONFLICT path
        run_target(
            config,
            [schema_message("awkward", PROPS, ["id"]), record("awkward", {"id": 1, "note": "old"})],
        )
    rows = _rows()

    def as_json(value: Any) -> str | None:
        return (
            None
            if value is None
            else _json_line({"x": value, "amount": None})[len('{"x": ') : -len(', "amount": null}')]
        )

    table = pa.table(
        {
            "id": pa.array([r["id"] for r in rows], pa.int64()),
            "amount": pa.array(
                [None if r["amount"] is None else Decimal(r["amount"]) for r in rows],
                pa.decimal128(38, 9),
            ),
            "at": pa.array(
                [
                    None
                    if r["at"] is None
                    else dt.datetime.fromisoformat(r["at"].replace("Z", "+00:00"))
                    for r in rows
                ],
                pa.timestamp("us", tz="UTC"),
            ),
            "day": pa.array(
                [None if r["day"] is None else dt.date.fromisoformat(r["day"]) for r in rows],
                pa.date32(),
            ),
            "doc": pa.array([as_json(r["doc"]) for r in rows], pa.string()),
            "tags": pa.array([as_json(r["tags"]) for r in rows], pa.string()),
            "note": pa.array([r["note"] for r in rows], pa.string()),
        }
    )
    run_target(
        config,
        [
            schema_message("awkward", PROPS, ["id"]),
            parquet_batch("awkward", tmp_path / "a.parquet", table),
        ],
    )
    _check(warehouse_url, schema, exact_scale=False)
