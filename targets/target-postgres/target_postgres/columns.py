"""JSON Schema -> PostgreSQL column types, and which type changes are safe to apply.

Kept as data and small pure functions so each rule is tested one row per case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1
INT8_MIN, INT8_MAX = -(2**63), 2**63 - 1

# Integer family, narrowest first: moving right never loses a value.
NUMERIC_LADDER = ("smallint", "integer", "bigint", "numeric")

# information_schema / format_type spellings -> our canonical spellings.
_ALIASES = {
    "int2": "smallint",
    "int4": "integer",
    "int": "integer",
    "int8": "bigint",
    "bool": "boolean",
    "character varying": "varchar",
    "timestamp with time zone": "timestamptz",
    "timestamp without time zone": "timestamp",
    "time without time zone": "time",
    "double precision": "double precision",
}


class ColumnNameClashError(Exception):
    """Two stream properties conform to one column name (e.g. `clientName`, `clientname`)."""

    def __init__(self, stream: str, column: str, properties: list[str]) -> None:
        self.stream, self.column, self.properties = stream, column, properties
        names = " and ".join(repr(p) for p in properties)
        super().__init__(
            f"stream {stream!r}: properties {names} would both be column {column!r} "
            "(column names are lowercased); rename one upstream, e.g. with a stream map "
            "(nothing was loaded)"
        )


def check_name_clashes(stream: str, columns: list[Column]) -> None:
    """Stop before loading when two properties conform to the same column name."""
    by_name: dict[str, list[str]] = {}
    for column in columns:
        by_name.setdefault(column.name, []).append(column.prop)
    for name, props in by_name.items():
        if len(props) > 1:
            raise ColumnNameClashError(stream, name, props)


class IncompatibleColumnTypeError(Exception):
    """A column's existing type cannot hold the incoming type without losing data."""

    def __init__(self, table: str, column: str, existing: str, incoming: str) -> None:
        self.table, self.column, self.existing, self.incoming = table, column, existing, incoming
        super().__init__(
            f"column {column!r} of table {table}: existing type {existing} cannot safely become "
            f"{incoming}; alter or rename the column by hand (nothing was changed)"
        )


@dataclass(frozen=True)
class Column:
    """One target column: its conformed name, the record property it comes from, its type."""

    name: str
    prop: str
    sql_type: str

    @property
    def is_json(self) -> bool:
        return self.sql_type == "jsonb"


def _non_null_types(schema: dict[str, Any]) -> list[str]:
    if "anyOf" in schema:
        found: list[str] = []
        for option in schema["anyOf"]:
            found.extend(t for t in _non_null_types(option) if t not in found)
        return found
    types = schema.get("type", [])
    if isinstance(types, str):
        types = [types]
    return [t for t in types if t != "null"]


def _first_with(schema: dict[str, Any], key: str) -> Any:
    if key in schema:
        return schema[key]
    for option in schema.get("anyOf", []):
        if (found := _first_with(option, key)) is not None:
            return found
    return None


def sql_type_for(schema: dict[str, Any]) -> str:
    """The PostgreSQL type for a JSON Schema property (exactness first: numbers are numeric)."""
    types = _non_null_types(schema)
    if len(types) != 1:
        # no type, or a mix like string|number: jsonb keeps every value as it came
        return "jsonb" if not types or "object" in types or "array" in types else "text"
    kind = types[0]
    if kind == "integer":
        low, high = _first_with(schema, "minimum"), _first_with(schema, "maximum")
        if low is not None and high is not None and low >= INT4_MIN and high <= INT4_MAX:
            return "integer"
        if (low is not None and low < INT8_MIN) or (high is not None and high > INT8_MAX):
            return "numeric"
        return "bigint"
    if kind == "number":
        return "numeric"
    if kind == "boolean":
        return "boolean"
    if kind in {"object", "array"}:
        return "jsonb"
    fmt = _first_with(schema, "format")
    if fmt == "date-time":
        return "timestamptz"
    if fmt == "date":
        return "date"
    if fmt == "time":
        return "time"
    if fmt == "x-singer.decimal":
        return "numeric"
    max_length = _first_with(schema, "maxLength")
    return f"varchar({int(max_length)})" if max_length else "text"


def canonical(sql_type: str) -> str:
    """Normalise a type as Postgres reports it (format_type) to our spelling."""
    sql_type = sql_type.strip().lower()
    match = re.fullmatch(r"(character varying|varchar)\((\d+)\)", sql_type)
    if match:
        return f"varchar({match.group(2)})"
    match = re.fullmatch(r"numeric\((\d+),\s*(\d+)\)", sql_type)
    if match:
        return f"numeric({match.group(1)},{match.group(2)})"
    return _ALIASES.get(sql_type, sql_type)


def _varchar_length(sql_type: str) -> int | None:
    match = re.fullmatch(r"varchar\((\d+)\)", sql_type)
    return int(match.group(1)) if match else None


def resolve(table: str, column: str, existing: str, incoming: str) -> str | None:
    """The type to ALTER `column` to, None to keep it, or raise when no safe type exists.

    Safe means every value the column holds and every incoming value fit the result:
    integer widening up to numeric, numeric(p,s) -> numeric, varchar(n) -> varchar(m>n) -> text.
    An existing type already wider than the incoming one is kept (never narrowed).
    """
    existing, incoming = canonical(existing), canonical(incoming)
    if existing == incoming:
        return None
    base_existing = "numeric" if existing.startswith("numeric") else existing
    if base_existing in NUMERIC_LADDER and incoming in NUMERIC_LADDER:
        if existing.startswith("numeric("):
            return "numeric" if incoming == "numeric" else None
        grow = NUMERIC_LADDER.index(incoming) > NUMERIC_LADDER.index(base_existing)
        return incoming if grow else None
    existing_len, incoming_len = _varchar_length(existing), _varchar_length(incoming)
    if existing_len is not None:
        if incoming == "text":
            return "text"
        if incoming_len is not None:
            return incoming if incoming_len > existing_len else None
    if existing == "text" and (incoming_len is not None):
        return None
    if existing == "text":
        # text takes the text form of anything (numbers, dates, json): nothing is lost
        return None
    raise IncompatibleColumnTypeError(table, column, existing, incoming)
