"""Columns are added and safely widened; an unsafe change stops with the column's name."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from target_postgres.columns import ColumnNameClashError, IncompatibleColumnTypeError

from tests.target_postgres.conftest import query, record, run_target, schema_message

INT4 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}


def _type(url: str, schema: str, table: str, column: str) -> str:
    return query(
        url,
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "WHERE a.attrelid = %s::regclass AND a.attname = %s",
        (f'"{schema}"."{table}"', column),
    )[0][0]


def test_a_new_column_is_added_and_old_rows_keep_their_values(
    config: dict, warehouse_url: str, schema: str
) -> None:
    v1 = {"id": {"type": "integer"}, "name": {"type": "string"}}
    run_target(
        config, [schema_message("items", v1, ["id"]), record("items", {"id": 1, "name": "a"})]
    )
    v2 = {**v1, "qty": {"type": ["number", "null"]}}
    run_target(
        config,
        [schema_message("items", v2, ["id"]), record("items", {"id": 2, "name": "b", "qty": 2.5})],
    )
    rows = query(warehouse_url, f'SELECT id, name, qty FROM "{schema}".items ORDER BY id')
    assert [(r[0], r[1], None if r[2] is None else str(r[2])) for r in rows] == [
        (1, "a", None),
        (2, "b", "2.5"),
    ]


def test_an_integer_growing_past_int4_widens_the_column(
    config: dict, warehouse_url: str, schema: str
) -> None:
    v1 = {"id": {"type": "integer"}, "counter": INT4}
    run_target(
        config,
        [schema_message("counts", v1, ["id"]), record("counts", {"id": 1, "counter": 2**31 - 1})],
    )
    assert _type(warehouse_url, schema, "counts", "counter") == "integer"
    v2 = {"id": {"type": "integer"}, "counter": {"type": "integer"}}
    run_target(
        config,
        [
            schema_message("counts", v2, ["id"]),
            record("counts", {"id": 2, "counter": 3_000_000_000}),
        ],
    )
    assert _type(warehouse_url, schema, "counts", "counter") == "bigint"
    rows = query(warehouse_url, f'SELECT id, counter FROM "{schema}".counts ORDER BY id')
    assert rows == [(1, 2**31 - 1), (2, 3_000_000_000)]


def test_varchar_widens_to_text(config: dict, warehouse_url: str, schema: str) -> None:
    v1 = {"id": {"type": "integer"}, "code": {"type": "string", "maxLength": 3}}
    run_target(
        config, [schema_message("codes", v1, ["id"]), record("codes", {"id": 1, "code": "abc"})]
    )
    assert _type(warehouse_url, schema, "codes", "code") == "character varying(3)"
    v2 = {"id": {"type": "integer"}, "code": {"type": "string"}}
    run_target(
        config,
        [schema_message("codes", v2, ["id"]), record("codes", {"id": 2, "code": "much longer"})],
    )
    assert _type(warehouse_url, schema, "codes", "code") == "text"
    assert query(warehouse_url, f'SELECT code FROM "{schema}".codes ORDER BY id') == [
        ("abc",),
        ("much longer",),
    ]


def test_an_unsafe_type_change_fails_naming_the_column(
    config: dict, warehouse_url: str, schema: str
) -> None:
    v1 = {"id": {"type": "integer"}, "shipped": {"type": "string", "format": "date-time"}}
    run_target(
        config,
        [
            schema_message("ships", v1, ["id"]),
            record("ships", {"id": 1, "shipped": "2024-01-01T00:00:00Z"}),
        ],
    )
    v2 = {"id": {"type": "integer"}, "shipped": {"type": "boolean"}}
    with pytest.raises(IncompatibleColumnTypeError, match="column 'shipped'"):
        run_target(
            config,
            [schema_message("ships", v2, ["id"]), record("ships", {"id": 2, "shipped": True})],
        )
    assert _type(warehouse_url, schema, "ships", "shipped") == "timestamp with time zone"
    assert query(warehouse_url, f'SELECT count(*) FROM "{schema}".ships')[0][0] == 1


def test_a_property_that_disappears_keeps_its_column_and_data(
    config: dict, warehouse_url: str, schema: str
) -> None:
    v1 = {"id": {"type": "integer"}, "note": {"type": "string"}, "n": {"type": "integer"}}
    run_target(
        config,
        [
            schema_message("notes", v1, ["id"]),
            record("notes", {"id": 1, "note": "keep me", "n": 1}),
        ],
    )
    v2 = {"id": {"type": "integer"}, "n": {"type": "integer"}}
    run_target(config, [schema_message("notes", v2, ["id"]), record("notes", {"id": 1, "n": 2})])
    assert query(warehouse_url, f'SELECT id, note, n FROM "{schema}".notes') == [(1, "keep me", 2)]


def test_properties_that_differ_only_in_case_stop_the_run_naming_both(
    config: dict, warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    props = {"id": {"type": "integer"}, "clientName": {"type": "string"}}
    props["clientname"] = {"type": "string"}
    messages = [
        schema_message("clients", props, ["id"]),
        record("clients", {"id": 1, "clientName": "A", "clientname": "a"}),
    ]
    with pytest.raises(ColumnNameClashError) as raised:
        run_target(config, messages)
    assert raised.value.properties == ["clientName", "clientname"]
    assert raised.value.column == "clientname"
    assert query(
        warehouse_url, "SELECT count(*) FROM pg_tables WHERE schemaname = %s", (schema,)
    ) == [(0,)]
    # The console entry point: one readable line naming both, exit 1, no stack trace.
    config_path = tmp_path / "target.json"
    config_path.write_text(json.dumps(config))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "target-postgres"), "--config", str(config_path)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert "'clientName' and 'clientname'" in done.stderr
    assert "Traceback" not in done.stderr
