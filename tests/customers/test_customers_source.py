"""The source's own helpers: one JSON decode per page, Arrow batches of `batch_rows`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pytest
import requests

from pipelines.customers import arrow_batches, concurrent_items, decode_once
from pipelines.customers.settings import ARROW_SCHEMA
from sandbox.customers import DATA_FILE

CUSTOMERS = json.loads(DATA_FILE.read_text())


def response(status: int, body: object) -> requests.Response:
    r = requests.Response()
    r.status_code = status
    r._content = json.dumps(body).encode()
    r.encoding = "utf-8"
    return r


def test_decode_once_gives_rest_api_and_the_paginator_the_same_decoded_body() -> None:
    r = decode_once(response(200, {"data": CUSTOMERS, "total_pages": 3}))
    first = r.json()
    assert first["total_pages"] == 3
    assert r.json() is first  # the second read (paginator's total_pages) is not a new decode


def test_decode_once_leaves_error_responses_alone() -> None:
    r = response(503, {"error": "injected fault"})
    original = r.json
    assert decode_once(r).json == original


def test_arrow_batches_are_typed_tables_of_batch_rows() -> None:
    rows = CUSTOMERS * 4  # 100 rows
    tables = [item.data for item in arrow_batches(iter(rows), 30)]  # marked for `customers`
    assert [t.num_rows for t in tables] == [30, 30, 30, 10]
    assert all(t.schema.equals(ARROW_SCHEMA) for t in tables)
    assert pa.concat_tables(tables).column("customer_id").to_pylist() == [
        r["customer_id"] for r in rows
    ]


def test_concurrent_items_yields_every_item_and_raises_a_reader_error() -> None:
    assert sorted(concurrent_items([iter([1, 2]), iter([3]), iter([])])) == [1, 2, 3]

    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        list(concurrent_items([failing(), iter(range(5))]))
