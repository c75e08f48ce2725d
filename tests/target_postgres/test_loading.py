"""Upsert idempotency, duplicates, load methods, deletes and ACTIVATE_VERSION."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from connector_kit.deadletter import DeadLetters
from singer_sdk.exceptions import InvalidRecord

from tests.target_postgres.batches import jsonl_batch, parquet_batch
from tests.target_postgres.conftest import query, record, run_target, schema_message

PROPS = {
    "id": {"type": "integer"},
    "name": {"type": ["string", "null"]},
    "deleted_at": {"type": ["string", "null"], "format": "date-time"},
}


def _orders(n: int, name: str = "v1", start: int = 1) -> list[dict[str, Any]]:
    return [record("orders", {"id": i, "name": f"{name}-{i}"}) for i in range(start, start + n)]


def _rows(url: str, schema: str, table: str = "orders") -> list[tuple[Any, ...]]:
    return query(url, f'SELECT id, name FROM "{schema}"."{table}" ORDER BY id')


def test_same_stream_twice_leaves_one_row_per_key(
    config: dict, warehouse_url: str, schema: str
) -> None:
    messages = [schema_message("orders", PROPS, ["id"]), *_orders(50)]
    run_target(config, messages)
    run_target(config, messages)
    rows = _rows(warehouse_url, schema)
    assert len(rows) == 50
    assert rows[0] == (1, "v1-1")
    assert query(warehouse_url, f'SELECT count(DISTINCT id) FROM "{schema}".orders')[0][0] == 50


def test_second_load_updates_changed_rows(config: dict, warehouse_url: str, schema: str) -> None:
    run_target(config, [schema_message("orders", PROPS, ["id"]), *_orders(10)])
    run_target(config, [schema_message("orders", PROPS, ["id"]), *_orders(5, name="v2", start=8)])
    rows = dict(_rows(warehouse_url, schema))
    assert len(rows) == 12
    assert rows[7] == "v1-7"
    assert rows[8] == "v2-8"
    assert rows[12] == "v2-12"


def test_duplicate_keys_in_one_batch_keep_the_last(
    config: dict, warehouse_url: str, schema: str
) -> None:
    messages = [
        schema_message("orders", PROPS, ["id"]),
        record("orders", {"id": 1, "name": "first"}),
        record("orders", {"id": 2, "name": "other"}),
        record("orders", {"id": 1, "name": "last"}),
    ]
    run_target(config, messages)
    assert _rows(warehouse_url, schema) == [(1, "last"), (2, "other")]


def test_parquet_batch_with_repeated_keys_on_existing_table(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    run_target(config, [schema_message("orders", PROPS, ["id"]), *_orders(3)])
    table = pa.table({"id": [3, 4, 3], "name": ["x", "y", "z"]})
    batch = parquet_batch("orders", tmp_path / "b.parquet", table)
    run_target(config, [schema_message("orders", PROPS, ["id"]), batch])
    assert _rows(warehouse_url, schema) == [(1, "v1-1"), (2, "v1-2"), (3, "z"), (4, "y")]
    assert not (tmp_path / "b.parquet").exists(), "consumed batch files are cleaned up"


def test_batch_files_loaded_twice_stay_one_row_per_key(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    for attempt in range(2):
        table = pa.table({"id": list(range(1, 1001)), "name": [f"n{i}" for i in range(1, 1001)]})
        messages = [
            schema_message("orders", PROPS, ["id"]),
            parquet_batch("orders", tmp_path / f"p{attempt}.parquet", table),
            jsonl_batch(
                "orders", tmp_path / f"j{attempt}.jsonl.gz", ['{"id": 5, "name": "from-json"}']
            ),
        ]
        run_target(config, messages)
    rows = dict(_rows(warehouse_url, schema))
    assert len(rows) == 1000
    assert rows[5] == "from-json"
    assert list(tmp_path.iterdir()) == []


def test_keyless_stream_appends(config: dict, warehouse_url: str, schema: str) -> None:
    messages = [
        schema_message("events", PROPS, []),
        *[record("events", {"id": 1, "name": "e"})] * 3,
    ]
    run_target(config, messages)
    run_target(config, messages)
    assert query(warehouse_url, f'SELECT count(*) FROM "{schema}".events')[0][0] == 6


def test_append_only_keeps_every_version(config: dict, warehouse_url: str, schema: str) -> None:
    messages = [schema_message("orders", PROPS, ["id"]), *_orders(4)]
    run_target({**config, "load_method": "append-only"}, messages)
    run_target({**config, "load_method": "append-only"}, messages)
    assert len(_rows(warehouse_url, schema)) == 8


def test_overwrite_replaces_the_table(config: dict, warehouse_url: str, schema: str) -> None:
    run_target(config, [schema_message("orders", PROPS, ["id"]), *_orders(10)])
    run_target(
        {**config, "load_method": "overwrite"},
        [schema_message("orders", PROPS, ["id"]), *_orders(2, name="new", start=100)],
    )
    assert _rows(warehouse_url, schema) == [(100, "new-100"), (101, "new-101")]


def test_deleted_at_is_kept_as_soft_delete_by_default(
    config: dict, warehouse_url: str, schema: str
) -> None:
    run_target(config, [schema_message("orders", PROPS, ["id"]), *_orders(3)])
    deletion = record("orders", {"id": 2, "name": "gone", "deleted_at": "2024-05-01T00:00:00Z"})
    run_target(config, [schema_message("orders", PROPS, ["id"]), deletion])
    rows = query(
        warehouse_url, f'SELECT id, deleted_at IS NOT NULL FROM "{schema}".orders ORDER BY id'
    )
    assert rows == [(1, False), (2, True), (3, False)]


def test_hard_delete_removes_deleted_records(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    hard = {**config, "hard_delete": True}
    run_target(hard, [schema_message("orders", PROPS, ["id"]), *_orders(4)])
    deletion = record("orders", {"id": 2, "name": "gone", "deleted_at": "2024-05-01T00:00:00Z"})
    table = pa.table(
        {
            "id": [3, 9],
            "name": ["gone", "new"],
            "deleted_at": pa.array(["2024-05-01T00:00:00Z", None]),
        }
    )
    batch = parquet_batch("orders", tmp_path / "d.parquet", table)
    run_target(hard, [schema_message("orders", PROPS, ["id"]), deletion, batch])
    assert _rows(warehouse_url, schema) == [(1, "v1-1"), (4, "v1-4"), (9, "new")]


def test_metadata_columns_are_switchable(config: dict, warehouse_url: str, schema: str) -> None:
    run_target(
        {**config, "add_record_metadata": True},
        [schema_message("orders", PROPS, ["id"]), *_orders(2)],
    )
    columns = {
        r[0]
        for r in query(
            warehouse_url,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s",
            (schema,),
        )
    }
    assert {
        "_sdc_extracted_at",
        "_sdc_received_at",
        "_sdc_batched_at",
        "_sdc_deleted_at",
    } <= columns
    run_target(config, [schema_message("plain", PROPS, ["id"]), record("plain", {"id": 1})])
    plain = query(
        warehouse_url,
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = %s AND table_name = 'plain'",
        (schema,),
    )
    assert not [c for (c,) in plain if c.startswith("_sdc_")]


def test_activate_version_soft_deletes_rows_of_older_versions(
    config: dict, warehouse_url: str, schema: str
) -> None:
    meta = {**config, "add_record_metadata": True}

    def full_sync(version: int, ids: list[int]) -> list[dict[str, Any]]:
        return [
            schema_message("orders", PROPS, ["id"]),
            {"type": "ACTIVATE_VERSION", "stream": "orders", "version": version},
            *[record("orders", {"id": i, "name": f"v{version}"}, version=version) for i in ids],
            {"type": "ACTIVATE_VERSION", "stream": "orders", "version": version},
        ]

    run_target(meta, full_sync(1, [1, 2, 3]))
    run_target(meta, full_sync(2, [1, 3]))
    rows = query(
        warehouse_url,
        f'SELECT id, name, _sdc_deleted_at IS NOT NULL FROM "{schema}".orders ORDER BY id',
    )
    assert rows == [(1, "v2", False), (2, "v1", True), (3, "v2", False)]
    run_target({**meta, "hard_delete": True}, full_sync(3, [3]))
    assert _rows(warehouse_url, schema) == [(3, "v3")]


def test_state_is_emitted_after_the_rows_are_committed(
    config: dict, warehouse_url: str, schema: str
) -> None:
    states = run_target(
        config,
        [
            schema_message("orders", PROPS, ["id"]),
            *_orders(3),
            {"type": "STATE", "value": {"bookmarks": {"orders": {"replication_key_value": 3}}}},
        ],
    )
    assert states == [{"bookmarks": {"orders": {"replication_key_value": 3}}}]
    assert len(_rows(warehouse_url, schema)) == 3


def test_a_refused_record_goes_to_dead_letters_and_the_rest_loads(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    dead = tmp_path / "dead.jsonl"
    props = {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}
    messages = [
        schema_message("counts", props, ["id"]),
        *[record("counts", {"id": i, "n": i}) for i in range(1, 40)],
        record("counts", {"id": 40, "n": 2**70}),  # valid JSON Schema, beyond bigint
        *[record("counts", {"id": i, "n": i}) for i in range(41, 60)],
    ]
    with pytest.raises(SystemExit) as exited:
        run_target({**config, "dead_letter_path": str(dead)}, messages)
    assert exited.value.code == 1
    ids = [r[0] for r in query(warehouse_url, f'SELECT id FROM "{schema}".counts ORDER BY id')]
    assert ids == [i for i in range(1, 60) if i != 40]
    (letter,) = DeadLetters(dead).read()
    assert letter["record"]["id"] == 40
    assert "out of range" in letter["reason"]

    run_target({**config, "dead_letter_path": str(dead), "fail_on_rejects": False}, messages)
    assert len(DeadLetters(dead).read()) == 2


def test_overwrite_empties_once_per_run_even_across_schema_changes(
    config: dict, warehouse_url: str, schema: str
) -> None:
    run_target(config, [schema_message("orders", PROPS, ["id"]), *_orders(10)])
    wider = {**PROPS, "extra": {"type": ["string", "null"]}}
    run_target(
        {**config, "load_method": "overwrite"},
        [
            schema_message("orders", PROPS, ["id"]),
            *_orders(2, name="a", start=100),
            schema_message("orders", wider, ["id"]),  # a new sink mid-run
            record("orders", {"id": 200, "name": "b", "extra": "x"}),
        ],
    )
    assert _rows(warehouse_url, schema) == [(100, "a-100"), (101, "a-101"), (200, "b")]


def test_records_are_validated_unless_turned_off(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    props = {"id": {"type": "integer"}, "n": {"type": ["integer", "null"]}}
    bad = [schema_message("checked", props, ["id"]), record("checked", {"id": 1, "n": "seven"})]
    with pytest.raises(InvalidRecord, match="must be integer or null"):
        run_target(config, bad)
    dead = tmp_path / "dead.jsonl"
    unchecked = {
        **config,
        "validate_records": False,
        "dead_letter_path": str(dead),
        "fail_on_rejects": False,
    }
    run_target(unchecked, bad)  # unchecked, Postgres itself refuses the value
    assert [letter["record"]["n"] for letter in DeadLetters(dead).read()] == ["seven"]
