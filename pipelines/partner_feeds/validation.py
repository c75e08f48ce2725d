"""Row validation (the rules: docs/partner_feeds.md): one raw feed row -> a catalog product, or a reason.

The normalisers take the partner's conventions (decimal comma, thousands separator, currency
symbols, date formats) from its adapter, so no partner has its own code path.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from connector_kit.pgtext import storable
from connector_kit.values import exact_decimal

from pipelines.partner_feeds.registry import PartnerAdapter

CENT = Decimal("0.01")
MAX_PRICE = Decimal("10") ** 10  # DECIMAL(12,2): 10 digits before the point
MAX_STOCK = 2**63 - 1
_ISO_CURRENCY = re.compile(r"^[A-Z]{3}$")
# optional prefix (symbol or code), the number, optional suffix; whitespace allowed between
_PRICE = re.compile(
    r"^(?P<prefix>[^\d\s.,+-]*)\s*(?P<sign>[+-]?)\s*"
    r"(?P<number>[\d.,' ]*\d[\d.,' ]*|[.,]\d+)\s*(?P<suffix>[^\d\s.,]*)$"
)


class RowRejected(ValueError):
    """A row that breaks a validation rule; the message is the reason stored in `rejects`."""


def parse_price(value: Any, adapter: PartnerAdapter) -> tuple[Decimal, str | None]:
    """Price as Decimal with 2 places, and the currency its symbol or code names (if any)."""
    currency = None
    if isinstance(value, bool) or value is None:
        raise RowRejected("price is required")
    if isinstance(value, int | float | Decimal):
        amount = exact_decimal(value)
    elif isinstance(value, str):
        text = value.replace("\u00a0", " ").replace("\u202f", " ").strip()
        if not text:
            raise RowRejected("price is required")
        match = _PRICE.match(text)
        if not match:
            raise RowRejected(f"price {value!r} is not a number")
        for mark in (match["prefix"], match["suffix"]):
            if mark:
                named = _currency_of(mark, adapter)
                if currency and named != currency:
                    raise RowRejected(f"price {value!r} names two currencies")
                currency = named
        amount = _to_decimal(match["sign"] + match["number"], adapter, "price", value)
    else:
        raise RowRejected(f"price {value!r} is not a number")
    if not amount.is_finite():
        raise RowRejected(f"price {value!r} is not a number")
    if amount < 0:
        raise RowRejected(f"price {value!r} is negative")
    if amount != amount.quantize(CENT, rounding="ROUND_DOWN"):
        raise RowRejected(f"price {value!r} has more than 2 decimal places")
    if amount >= MAX_PRICE:
        raise RowRejected(f"price {value!r} is too large for DECIMAL(12,2)")
    return amount.quantize(CENT) + 0, currency  # + 0 turns -0.00 into 0.00


def parse_stock(value: Any, adapter: PartnerAdapter) -> int:
    """Stock as a non-negative integer; "10.0" or 10.0 count as 10, "10.5" does not."""
    if isinstance(value, bool) or value is None:
        raise RowRejected("stock is required")
    if isinstance(value, int | float | Decimal):
        number = exact_decimal(value)
    elif isinstance(value, str):
        text = value.replace("\u00a0", " ").strip()
        if not text:
            raise RowRejected("stock is required")
        if not re.fullmatch(r"[+-]?[\d.,' ]+", text):
            raise RowRejected(f"stock {value!r} is not a number")
        number = _to_decimal(text, adapter, "stock", value)
    else:
        raise RowRejected(f"stock {value!r} is not a number")
    if not number.is_finite() or number != number.to_integral_value():
        raise RowRejected(f"stock {value!r} is not a whole number")
    if number < 0:
        raise RowRejected(f"stock {value!r} is negative")
    if number > MAX_STOCK:
        raise RowRejected(f"stock {value!r} is too large")
    return int(number)


def parse_updated_at(value: Any, adapter: PartnerAdapter) -> dt.datetime | None:
    """ISO 8601 or one of the partner's formats; a naive time is taken as UTC."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise RowRejected(f"updated_at {value!r} is not a date/time")
    text = value.strip()
    parsed = None
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        for fmt in adapter.datetime_formats:
            try:
                parsed = dt.datetime.strptime(text, fmt)  # noqa: DTZ007  (naive -> UTC below)
                break
            except ValueError:
                continue
    if parsed is None:
        raise RowRejected(f"updated_at {value!r} is not a date/time")
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def validate(raw: Mapping[str, Any], adapter: PartnerAdapter) -> dict[str, Any]:
    """Canonical row -> catalog product fields; raises RowRejected with the first broken rule."""
    sku = _text(raw.get("sku"))
    if not sku:
        raise RowRejected("sku is required")
    name = _text(raw.get("name"))
    if not name:
        raise RowRejected("name is required")
    price, price_currency = parse_price(raw.get("price"), adapter)
    stock = parse_stock(raw.get("stock"), adapter)
    currency = _text(raw.get("currency"))
    if currency:
        currency = currency.upper()
        if not _ISO_CURRENCY.match(currency):
            raise RowRejected(f"currency {raw.get('currency')!r} is not a 3-letter ISO code")
        if price_currency and price_currency != currency:
            raise RowRejected(f"price is in {price_currency} but currency says {currency}")
    return {
        "sku": sku,
        "name": name,
        "price": price,
        "stock": stock,
        "currency": currency or price_currency or adapter.currency,
        "description": _text(raw.get("description")) or None,
        "updated_at": parse_updated_at(raw.get("updated_at"), adapter),
    }


def _text(value: Any) -> str:
    """Trimmed text, with what PostgreSQL cannot store (NUL, lone surrogates) made U+FFFD."""
    if value is None:
        return ""
    if isinstance(value, str):
        return storable(value.strip())
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)  # JSON feeds may send numeric SKUs
    raise RowRejected(f"{value!r} is not text")


def _currency_of(mark: str, adapter: PartnerAdapter) -> str:
    if mark in adapter.currency_symbols:
        return adapter.currency_symbols[mark]
    if _ISO_CURRENCY.match(mark):
        return mark
    raise RowRejected(f"unknown currency symbol {mark!r}")


def _to_decimal(text: str, adapter: PartnerAdapter, field: str, original: Any) -> Decimal:
    """Apply the partner's separators: thousands groups of 3 digits, then its decimal mark."""
    sign = text[0] if text[:1] in "+-" else ""
    digits = text[len(sign) :].strip()
    thousands, decimal_mark = adapter.thousands_separator, adapter.decimal_separator
    whole, sep, fraction = (
        digits.rpartition(decimal_mark) if decimal_mark in digits else (digits, "", "")
    )
    if thousands and thousands in whole:
        groups = whole.split(thousands)
        if not groups[0] or len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:]):
            raise RowRejected(f"{field} {original!r} has misplaced thousands separators")
        whole = "".join(groups)
    candidate = f"{sign}{whole or '0'}{'.' + fraction if sep else ''}"
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?", candidate):
        raise RowRejected(f"{field} {original!r} is not a number in this partner's format")
    try:
        return Decimal(candidate)
    except InvalidOperation as exc:  # pragma: no cover - the pattern above admits only numbers
        raise RowRejected(f"{field} {original!r} is not a number") from exc
