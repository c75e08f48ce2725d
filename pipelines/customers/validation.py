"""Customers as the seed's table can hold them, or a reject naming the customer, page and field.

Rules (docs/customers.md):
- customer_id, first_name, last_name, email are required; each text fits its varchar length
  (characters, as PostgreSQL counts them);
- account_balance is a JSON number, read exactly (never through a float), rounded to 2 places
  half away from zero, as PostgreSQL rounds into NUMERIC(15,2): 10.005 -> 10.01,
  2.675 -> 2.68, -2.675 -> -2.68; after rounding it must be below 10^13 in magnitude;
- date_of_birth is YYYY-MM-DD, created_at an ISO 8601 date-time without offset;
- text PostgreSQL cannot store (NUL, lone surrogates) becomes U+FFFD (connector_kit.pgtext).

A batch is typed with Arrow compute in one pass. Only when Arrow cannot convert a value does
the batch go row by row in Python, to name the rows at fault.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from connector_kit.pgtext import REPLACEMENT, storable
from connector_kit.values import exact_decimal

from pipelines.customers.settings import ARROW_SCHEMA, COLUMNS, PAGE_FIELD

BALANCE_LIMIT = Decimal(10) ** 13  # NUMERIC(15,2): 13 digits before the point
CENT = Decimal("0.01")
REQUIRED = tuple(n for n, c in COLUMNS.items() if c.get("nullable") is False)
TEXT_LIMITS = {
    n: int(c.get("precision") or 0)
    for n, c in COLUMNS.items()
    if c.get("precision") and c["data_type"] == "text"
}
TEXT_FIELDS = tuple(f.name for f in ARROW_SCHEMA if pa.types.is_string(f.type))
# what Arrow reads first: balances exactly, at up to 10 places (more goes row by row)
_WIDE_BALANCE = pa.decimal128(38, 10)
_RAW_TYPES = {f.name: f.type for f in ARROW_SCHEMA} | {
    "date_of_birth": pa.string(),
    "created_at": pa.string(),
    "account_balance": _WIDE_BALANCE,
}
_RAW_SCHEMA = pa.schema([(n, _RAW_TYPES[n]) for n in ARROW_SCHEMA.names])
_LIMIT = pa.scalar(BALANCE_LIMIT, _WIDE_BALANCE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class Batch:
    """One batch of API rows, typed: `table` for `customers`, `rejects` for `customer_rejects`."""

    def __init__(self, rows: list[dict[str, Any]], rejected_at: dt.datetime) -> None:
        self.rejects: list[dict[str, Any]] = []
        self._at = rejected_at
        try:
            self.table = self._typed(rows)
        except (pa.ArrowException, TypeError, ValueError, UnicodeError):
            good = []
            for row in rows:  # rare: name the rows Arrow could not convert
                cleaned, reason = check_row(row)
                if cleaned is None:
                    self._reject(row, *reason)
                else:
                    good.append(cleaned)
            try:
                self.table = self._typed(good)
            except (pa.ArrowException, TypeError, ValueError, UnicodeError):
                self.table = self._one_by_one(good)

    def _one_by_one(self, rows: list[dict[str, Any]]) -> pa.Table:
        """Last resort: a value Python accepted but Arrow refuses; each row typed alone."""
        tables = []
        for row in rows:
            try:
                tables.append(self._typed([row]))
            except (pa.ArrowException, TypeError, ValueError, UnicodeError) as exc:
                self._reject(row, "", f"not convertible to the customers table: {exc}")
        return pa.concat_tables(tables, promote_options="default") if tables else self._typed([])

    def _typed(self, rows: list[dict[str, Any]]) -> pa.Table:
        raw = pa.Table.from_pylist(rows, schema=_RAW_SCHEMA)
        balance = pc.round(raw["account_balance"], ndigits=2, round_mode="half_towards_infinity")
        problems: list[tuple[str, pa.ChunkedArray]] = [
            *((name, pc.is_null(raw[name])) for name in REQUIRED),
            *((name, pc.greater(pc.utf8_length(raw[name]), n)) for name, n in TEXT_LIMITS.items()),
            ("account_balance", pc.greater_equal(pc.abs(balance), _LIMIT)),
        ]
        bad = None
        for _, found in problems:
            mask = pc.fill_null(found, False)
            bad = mask if bad is None else pc.or_(bad, mask)
        if bad is not None and pc.any(bad).as_py():
            for index in pc.indices_nonzero(bad).to_pylist():
                field, problem = row_problem(rows[index])
                self._reject(rows[index], field, problem or "does not fit the customers table")
            keep = pc.invert(bad)
            raw, balance = raw.filter(keep), balance.filter(keep)
            rows = [row for row, ok in zip(rows, keep.to_pylist(), strict=True) if ok]
        columns = []
        for field in ARROW_SCHEMA:
            if field.name == "account_balance":
                columns.append(pc.cast(balance, field.type))
            elif field.name in TEXT_FIELDS:
                column = raw[field.name]
                if pc.any(pc.match_substring(column, "\x00")).as_py():
                    column = pc.replace_substring(column, "\x00", REPLACEMENT)
                columns.append(column)
            else:
                columns.append(pc.cast(raw[field.name], field.type))
        table = pa.Table.from_arrays(columns, schema=ARROW_SCHEMA)
        extra = sorted(set().union(*rows) - set(ARROW_SCHEMA.names) - {PAGE_FIELD}) if rows else []
        if extra:  # fields the seed does not know are kept, their types inferred
            more = pa.Table.from_pylist([{k: row.get(k) for k in extra} for row in rows])
            for name in extra:
                table = table.append_column(name, more[name])
        return table

    def _reject(self, row: Mapping[str, Any], field: str, problem: str) -> None:
        customer = row.get("customer_id")
        customer_text = storable(str(customer)) if customer is not None else None
        page = row.get(PAGE_FIELD)
        self.rejects.append(
            {
                "customer_id": customer_text,
                "page": page,
                "field": field,
                "reason": storable(
                    f"customer {customer_text or '(no id)'} on page {page}: {problem}"
                ),
                "raw": storable(
                    json.dumps(
                        {k: v for k, v in row.items() if k != PAGE_FIELD},
                        default=str,
                        ensure_ascii=False,
                    )
                ),
                "rejected_at": self._at,
            }
        )


def check_row(row: Mapping[str, Any]) -> tuple[dict[str, Any] | None, tuple[str, str]]:
    """(the row as Arrow will take it, no problem) or (None, (field, problem))."""
    problem = row_problem(row)
    if problem[0]:
        return None, problem
    cleaned = dict(row)
    for name in TEXT_FIELDS:
        if isinstance(cleaned.get(name), str):
            cleaned[name] = storable(cleaned[name])
    if cleaned.get("account_balance") is not None:
        cleaned["account_balance"] = round_balance(cleaned["account_balance"])
    return cleaned, ("", "")


def row_problem(row: Mapping[str, Any]) -> tuple[str, str]:
    """The first rule a row breaks, as (field, problem); ("", "") when it keeps them all."""
    for name in REQUIRED:
        if row.get(name) is None:
            return name, f"{name} is missing"
    for name in TEXT_FIELDS:
        value = row.get(name)
        if value is not None and not isinstance(value, str):
            return name, f"{name} {value!r} is not text"
        limit = TEXT_LIMITS.get(name)
        if limit and value is not None and len(value) > limit:
            return name, f"{name} is {len(value)} characters, more than {limit}"
    balance = row.get("account_balance")
    if balance is not None:
        if isinstance(balance, bool) or not isinstance(balance, int | float | Decimal):
            return "account_balance", f"account_balance {balance!r} is not a number"
        try:
            rounded = round_balance(balance)
        except InvalidOperation:
            return "account_balance", f"account_balance {balance} is not a finite number"
        if abs(rounded) >= BALANCE_LIMIT:
            return "account_balance", f"account_balance {balance} does not fit NUMERIC(15,2)"
    birth = row.get("date_of_birth")
    if birth is not None:
        try:
            if not isinstance(birth, str) or not _DATE.fullmatch(birth):
                raise ValueError
            dt.date.fromisoformat(birth)
        except ValueError:
            return "date_of_birth", f"date_of_birth {birth!r} is not a date (YYYY-MM-DD)"
    created = row.get("created_at")
    if created is not None:
        try:
            if not isinstance(created, str) or dt.datetime.fromisoformat(created).tzinfo:
                raise ValueError
            pc.cast(pa.array([created]), pa.timestamp("us"))
        except (ValueError, pa.ArrowException):
            return "created_at", f"created_at {created!r} is not a date-time without offset"
    return "", ""


def round_balance(value: float | Decimal) -> Decimal:
    """2 places, half away from zero, on the exact decimal (as NUMERIC(15,2) rounds).

    A float (from a caller that decoded JSON itself) counts as the shortest decimal that
    reads back as it, which is the number as written: 2.675, not 2.67499999999999982...
    """
    return exact_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
