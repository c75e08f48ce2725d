"""JSON Schema -> Postgres type and the widening rules, one row per case."""

from __future__ import annotations

import pytest
from target_postgres.columns import IncompatibleColumnTypeError, resolve, sql_type_for


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer"}, "bigint"),
        ({"type": ["integer", "null"], "minimum": -2147483648, "maximum": 2147483647}, "integer"),
        ({"type": "integer", "minimum": 0, "maximum": 2**40}, "bigint"),
        ({"type": "integer", "maximum": 2**70}, "numeric"),
        ({"type": "number"}, "numeric"),
        ({"type": "string", "format": "x-singer.decimal"}, "numeric"),
        ({"type": "boolean"}, "boolean"),
        ({"type": ["string", "null"], "format": "date-time"}, "timestamptz"),
        ({"type": "string", "format": "date"}, "date"),
        ({"type": "string", "format": "time"}, "time"),
        ({"type": "string", "maxLength": 12}, "varchar(12)"),
        ({"type": "string"}, "text"),
        ({"type": "object"}, "jsonb"),
        ({"type": "array", "items": {"type": "string"}}, "jsonb"),
        ({}, "jsonb"),
        ({"type": ["string", "number"]}, "text"),
        ({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}, "timestamptz"),
    ],
)
def test_sql_type_for(schema: dict, expected: str) -> None:
    assert sql_type_for(schema) == expected


@pytest.mark.parametrize(
    ("existing", "incoming", "expected"),
    [
        ("integer", "integer", None),
        ("integer", "bigint", "bigint"),
        ("smallint", "integer", "integer"),
        ("integer", "numeric", "numeric"),
        ("bigint", "integer", None),  # never narrowed
        ("numeric(13,3)", "numeric", "numeric"),
        ("numeric(13,3)", "bigint", None),
        ("numeric", "bigint", None),
        ("character varying(10)", "varchar(20)", "varchar(20)"),
        ("character varying(20)", "varchar(10)", None),
        ("character varying(10)", "text", "text"),
        ("text", "varchar(10)", None),
        ("text", "timestamptz", None),  # text holds the text form of anything
        ("timestamp with time zone", "timestamptz", None),
        ("jsonb", "jsonb", None),
    ],
)
def test_resolve_safe(existing: str, incoming: str, expected: str | None) -> None:
    assert resolve("s.t", "c", existing, incoming) == expected


@pytest.mark.parametrize(
    ("existing", "incoming"),
    [
        ("bigint", "text"),
        ("timestamp with time zone", "date"),
        ("timestamp without time zone", "timestamptz"),
        ("boolean", "bigint"),
        ("jsonb", "text"),
        ("date", "timestamptz"),
    ],
)
def test_resolve_refuses_unsafe(existing: str, incoming: str) -> None:
    with pytest.raises(IncompatibleColumnTypeError, match=r"column .amount. of table s\.t"):
        resolve("s.t", "amount", existing, incoming)
