"""The MES -> Glassdome translation tables, one row per case, and the mapper over real messages."""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import subprocess

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from map_mes_glassdome.translation import LatestWins, Tables, glassdome_status, normalise_sku

from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN
from tests.glassdome.conftest import STATUS_TABLE

TABLES = Tables.load()


@pytest.mark.parametrize(
    ("mes_status", "expected"),
    [
        ("active", "ACTIVE"),
        ("ACTIVE", "ACTIVE"),
        ("Active  ", "ACTIVE"),
        ("ACTIVE ", "ACTIVE"),
        ("released", "ACTIVE"),
        ("inactive", "INACTIVE"),
        ("INACTIVE ", "INACTIVE"),
        ("blocked", "INACTIVE"),
        ("discontinued", "DISCONTINUED"),
        ("on hold", None),
        ("activ", None),
        ("", None),
        (None, None),
    ],
)
def test_status_table(mes_status: str | None, expected: str | None) -> None:
    assert glassdome_status(mes_status, TABLES.statuses) == expected


@pytest.mark.parametrize(
    ("sku", "expected"),
    [
        (" sku-delta ", "SKU-DELTA"),
        ("SKU-ALPHA-NEW", "SKU-ALPHA-NEW"),
        ("gsku-1", "GSKU-1"),
        ("  ", None),
        (None, None),
    ],
)
def test_sku_normalisation(sku: str | None, expected: str | None) -> None:
    assert normalise_sku(sku) == expected


def test_latest_wins_across_streams_in_any_order() -> None:
    latest = LatestWins()
    assert latest.admit("MAT-1002", "2024-03-12T09:30:00+00:00")
    assert not latest.admit("MAT-1002", "2024-03-12T09:00:00+00:00")  # older sales row loses
    assert latest.admit("MAT-1002", "2024-03-12T09:30:00+00:00")  # a tie: the later one wins
    assert latest.admit("MAT-1002", "2024-03-12T10:30:00+01:00")  # same instant, other offset
    assert latest.admit("MAT-1003", "2020-01-01T00:00:00+00:00")


@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30))
def test_latest_wins_admits_exactly_the_running_maxima(offsets: list[int]) -> None:
    latest = LatestWins()
    base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    admitted = [latest.admit("M", (base + dt.timedelta(seconds=s)).isoformat()) for s in offsets]
    assert admitted == [s >= max(offsets[: i + 1]) for i, s in enumerate(offsets)]


def test_yaml_table_is_the_expected_translation() -> None:
    assert TABLES.statuses == STATUS_TABLE


def test_meltano_stream_map_uses_the_same_status_table() -> None:
    """The literal `tap-mes target-glassdome` pair translates with a stream map; keep it equal."""
    config = yaml.safe_load((PROJECT_ROOT / "meltano" / "glassdome.meltano.yml").read_text())
    (loader,) = config["plugins"]["loaders"]
    expression = loader["config"]["stream_maps"]["material_latest"]["status"]
    table = ast.literal_eval(re.search(r"\{.*\}", expression, re.S).group(0))  # type: ignore[union-attr]
    assert table == TABLES.statuses


def _messages(*messages: dict) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


def test_mapper_collapses_rows_to_one_product_per_material_latest_wins() -> None:
    schema = {"type": "object", "properties": {}}
    lines = _messages(
        {
            "type": "SCHEMA",
            "stream": "production_orders",
            "schema": schema,
            "key_properties": ["order_id"],
        },
        {"type": "SCHEMA", "stream": "mvke", "schema": schema, "key_properties": ["matnr"]},
        {"type": "SCHEMA", "stream": "mara", "schema": schema, "key_properties": ["matnr"]},
        {
            "type": "RECORD",
            "stream": "production_orders",
            "record": {
                "order_id": 1,
                "material_number": "MAT-1002",
                "sku": "SKU-BETA",
                "status": "INACTIVE",
                "updated_at": "2024-03-12T09:30:00+00:00",
                "deleted_at": None,
            },
        },
        {
            "type": "RECORD",
            "stream": "production_orders",
            "record": {
                "order_id": 2,
                "material_number": "MAT-1008",
                "sku": "SKU-THETA",
                "status": "blocked",
                "updated_at": "2024-04-01T00:00:00+00:00",
                "deleted_at": "2024-04-01T00:00:00+00:00",
            },
        },
        {
            "type": "RECORD",
            "stream": "mara",
            "record": {"matnr": "MAT-1002", "updated_at": "2024-05-01T00:00:00+00:00"},
        },
        {
            "type": "STATE",
            "value": {"bookmarks": {"production_orders": {"replication_key_value": "x"}}},
        },
        {
            "type": "RECORD",
            "stream": "mvke",
            "record": {
                "matnr": "MAT-1002",
                "sku": "SKU-BETA",
                "status": "ACTIVE",
                "updated_at": "2024-03-10T09:00:00+00:00",
            },
        },
        {
            "type": "RECORD",
            "stream": "mvke",
            "record": {
                "matnr": "MAT-1004",
                "sku": " sku-delta ",
                "status": "blocked",
                "updated_at": "2024-03-10T09:00:00+00:00",
            },
        },
        {
            "type": "RECORD",
            "stream": "mvke",
            "record": {
                "matnr": "MAT-1009",
                "sku": "SKU-IOTA",
                "status": "on hold",
                "updated_at": "2024-03-10T09:00:00+00:00",
            },
        },
    )
    result = subprocess.run(
        [str(VENV_BIN / "map-mes-glassdome")],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    out = [json.loads(line) for line in result.stdout.splitlines()]
    schemas = [m for m in out if m["type"] == "SCHEMA"]
    records = [m["record"] for m in out if m["type"] == "RECORD"]
    assert [(s["stream"], s["key_properties"]) for s in schemas] == [("products", ["id"])]
    assert {m["stream"] for m in out if m["type"] == "RECORD"} == {"products"}
    assert records == [
        {"id": "MAT-1002", "sku": "SKU-BETA", "status": "INACTIVE", "source_status": "INACTIVE"},
        {"id": "MAT-1004", "sku": "SKU-DELTA", "status": "INACTIVE", "source_status": "blocked"},
        {"id": "MAT-1009", "sku": "SKU-IOTA", "status": None, "source_status": "on hold"},
    ]
    assert [m["value"] for m in out if m["type"] == "STATE"] == [
        {"bookmarks": {"production_orders": {"replication_key_value": "x"}}}
    ]
