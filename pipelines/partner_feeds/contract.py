"""The feed contract of one partner, generated from the code that enforces it.

Nothing here restates a rule: the fields and their types come from the registry (FIELDS,
REQUIRED_COLUMNS, the partner's adapter) and the catalog's column schema; each rule is shown
by running sample values through `validation.validate` and reporting what it answers; the
example feeds are checked by the same reader and validator a real upload goes through.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from typing import Any

from pipelines.partner_feeds.feeds import Feed, FeedReader
from pipelines.partner_feeds.registry import FIELDS, REQUIRED_COLUMNS, PartnerAdapter
from pipelines.partner_feeds.settings import CATALOG_COLUMNS
from pipelines.partner_feeds.validation import MAX_PRICE, MAX_STOCK, RowRejected, validate

# Sample inputs per field (data, not rules): what validate() makes of each is the rule shown.
# "{d}" is the partner's decimal separator, "{t}" its thousands separator.
PROBES: dict[str, tuple[str, ...]] = {
    "sku": ("", "  A-1  "),
    "name": ("",),
    "price": ("", "12{d}50", "1{t}234{d}50", "-1", "1{d}005", "abc", str(MAX_PRICE), "$5", "€5"),
    "stock": ("", "7", "7{d}0", "2{d}5", "-1", "ten", str(MAX_STOCK + 1)),
    "currency": ("", "usd", "EURO"),
    "description": ("",),
    "updated_at": ("", "2026-01-15T09:30:00Z", "2026-01-15", "yesterday"),
}


def _example_rows(adapter: PartnerAdapter) -> list[dict[str, Any]]:
    currency = adapter.currency or "EUR"
    return [
        {
            "sku": "EX-1",
            "name": "Example kettle",
            "price": Decimal("1234.50"),
            "stock": 12,
            "currency": currency,
            "description": "1.7 l, steel",
            "updated_at": "2026-01-15T09:30:00+00:00",
        },
        {
            "sku": "EX-2",
            "name": "Example mug",
            "price": Decimal("7.90"),
            "stock": 0,
            "currency": currency,
            "description": "",
            "updated_at": "",
        },
    ]


def _price_text(value: Decimal, adapter: PartnerAdapter) -> str:
    whole, _, cents = f"{value:.2f}".partition(".")
    if adapter.thousands_separator and len(whole) > 3:
        whole = f"{int(whole):,}".replace(",", adapter.thousands_separator)
    return f"{whole}{adapter.decimal_separator}{cents}"


def _csv_text(value: Any, adapter: PartnerAdapter) -> str:
    return _price_text(value, adapter) if isinstance(value, Decimal) else str(value)


def _probe_text(value: str, adapter: PartnerAdapter) -> str:
    return value.replace("{d}", adapter.decimal_separator).replace(
        "{t}", adapter.thousands_separator or ""
    )


def _outcome(row: dict[str, Any], adapter: PartnerAdapter) -> dict[str, Any]:
    try:
        return {"accepted": True, "stored": validate(row, adapter)}
    except RowRejected as exc:
        return {"accepted": False, "reason": str(exc)}


def _json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def contract(adapter: PartnerAdapter) -> dict[str, Any]:
    """Fields (type, required, the column names accepted) and rules, for this partner."""
    base = {k: _csv_text(v, adapter) for k, v in _example_rows(adapter)[0].items()}
    fields = []
    for name in FIELDS:
        column = CATALOG_COLUMNS[name]
        rules = []
        for probe in PROBES.get(name, ()):
            value = _probe_text(probe, adapter)
            outcome = _outcome({**base, name: value}, adapter)
            entry: dict[str, Any] = {"value": value, "accepted": outcome["accepted"]}
            if outcome["accepted"]:
                entry["stored_as"] = _json_safe(outcome["stored"][name])
            else:
                entry["reason"] = outcome["reason"]
            rules.append(entry)
        fields.append(
            {
                "name": name,
                "type": column["data_type"],
                **{k: column[k] for k in ("precision", "scale") if k in column},
                "column_required": name in REQUIRED_COLUMNS,
                "value_required": not _outcome({**base, name: ""}, adapter)["accepted"],
                "column_names": list(dict.fromkeys([name, *adapter.columns.get(name, ())])),
                "examples": rules,
            }
        )
    return {
        "partner": adapter.partner,
        "format": {
            "encoding": adapter.encoding,
            "csv_delimiter": adapter.delimiter,
            "csv_quotechar": adapter.quotechar,
            "decimal_separator": adapter.decimal_separator,
            "thousands_separator": adapter.thousands_separator or None,
            "default_currency": adapter.currency,
            "currency_symbols": dict(adapter.currency_symbols),
            "datetime_formats": ["ISO 8601", *adapter.datetime_formats],
            "json_records": adapter.json_records,
            "column_names_match": "case-insensitive, surrounding blanks ignored",
        },
        "fields": fields,
    }


def examples(adapter: PartnerAdapter) -> dict[str, bytes]:
    """A valid CSV and JSON feed in this partner's format, checked by the feed reader and the
    validator (ValueError if either refused one)."""
    rows = _example_rows(adapter)
    text = io.StringIO()
    writer = csv.writer(
        text, delimiter=adapter.delimiter, quotechar=adapter.quotechar, lineterminator="\n"
    )
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([_csv_text(row[f], adapter) for f in FIELDS])
    records = [{f: float(v) if isinstance(v, Decimal) else v for f, v in r.items()} for r in rows]
    document: Any = {adapter.json_records: records} if adapter.json_records else records
    bodies = {
        "csv": text.getvalue().encode(adapter.encoding),
        "json": json.dumps(document, ensure_ascii=False, indent=1).encode(adapter.encoding),
    }
    for fmt, body in bodies.items():
        reader = FeedReader(Feed(adapter.partner, f"example.{fmt}", content=body), adapter)
        for raw in reader.rows():
            if raw.problem:
                raise ValueError(f"example {fmt} row {raw.number}: {raw.problem}")
            validate(raw.fields, adapter)  # RowRejected is a ValueError
    return bodies
