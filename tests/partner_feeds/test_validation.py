"""Normalisers and the registry: property tests (hypothesis) and one row per rule."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.partner_feeds.registry import PartnerAdapter, PartnerRegistry, RegistryError
from pipelines.partner_feeds.validation import RowRejected, parse_price, parse_stock, validate

REGISTRY = PartnerRegistry.load()
# (decimal mark, thousands separator) pairs partners use
CONVENTIONS = [(".", ""), (".", ","), (",", "."), (",", " "), (".", "'"), (",", "")]
SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "R$": "BRL"}


def adapter(decimal_mark: str = ".", thousands: str = "") -> PartnerAdapter:
    return PartnerAdapter(
        partner="t",
        decimal_separator=decimal_mark,
        thousands_separator=thousands,
        currency_symbols=SYMBOLS,
    )


def written(amount: Decimal, decimal_mark: str, thousands: str, places: int) -> str:
    """`amount` as a partner would write it."""
    whole, _, fraction = f"{amount:.{places}f}".partition(".")
    if thousands:
        whole = f"{int(whole):,}".replace(",", thousands)
    return whole + (decimal_mark + fraction if places else "")


prices = st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2, allow_nan=False)


@given(
    prices,
    st.sampled_from(CONVENTIONS),
    st.sampled_from([0, 1, 2]),
    st.sampled_from(["", *SYMBOLS]),
    st.booleans(),
    st.sampled_from(["", " "]),
)
def test_price_written_any_partner_way_parses_back(
    amount: Decimal, convention: tuple[str, str], places: int, symbol: str, before: bool, gap: str
) -> None:
    decimal_mark, thousands = convention
    amount = amount.quantize(Decimal(1) / 10**places, rounding="ROUND_DOWN")
    number = written(amount, decimal_mark, thousands, places)
    text = (symbol + gap + number) if before else (number + gap + symbol)
    parsed, currency = parse_price(text, adapter(decimal_mark, thousands))
    assert parsed == amount
    assert parsed.as_tuple().exponent == -2
    assert currency == (SYMBOLS[symbol] if symbol else None)


@given(prices)
def test_json_numbers_parse_exactly(amount: Decimal) -> None:
    assert parse_price(amount, adapter()) == (amount, None)
    # floats (a JSON parser without Decimal) of up to 12 digits round-trip through repr()
    assert parse_price(float(amount), adapter()) == (amount, None)


@given(
    st.decimals(min_value=Decimal("-9999999999.99"), max_value=Decimal("-0.01"), places=2),
    st.sampled_from(CONVENTIONS),
)
def test_negative_prices_are_rejected(amount: Decimal, convention: tuple[str, str]) -> None:
    decimal_mark, thousands = convention
    with pytest.raises(RowRejected):
        parse_price(
            "-" + written(-amount, decimal_mark, thousands, 2), adapter(decimal_mark, thousands)
        )


@given(
    st.decimals(min_value=0, max_value=10**6, places=5, allow_nan=False).filter(
        lambda d: d != d.quantize(Decimal("0.01"))
    )
)
def test_more_than_two_places_is_rejected_not_rounded(amount: Decimal) -> None:
    with pytest.raises(RowRejected, match="more than 2 decimal places"):
        parse_price(str(amount), adapter())


@given(st.integers(min_value=0, max_value=2**63 - 1), st.sampled_from(CONVENTIONS), st.booleans())
def test_stock_written_any_partner_way_parses_back(
    count: int, convention: tuple[str, str], as_text: bool
) -> None:
    decimal_mark, thousands = convention
    value: object = written(Decimal(count), decimal_mark, thousands, 0) if as_text else count
    assert parse_stock(value, adapter(decimal_mark, thousands)) == count


@given(st.integers(max_value=-1))
def test_negative_stock_is_rejected(count: int) -> None:
    with pytest.raises(RowRejected, match="negative"):
        parse_stock(str(count), adapter())
    with pytest.raises(RowRejected, match="negative"):
        parse_stock(count, adapter())


@given(
    st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False).filter(
        lambda d: d != int(d)
    )
)
def test_fractional_stock_is_rejected(amount: Decimal) -> None:
    with pytest.raises(RowRejected, match="whole number"):
        parse_stock(str(amount), adapter())


@pytest.mark.parametrize(
    ("value", "conv", "expected"),
    [
        ("9,99", (",", ""), Decimal("9.99")),
        ("$9.99", (".", ""), Decimal("9.99")),
        ("1.234,56 €", (",", "."), Decimal("1234.56")),
        ("USD 12", (".", ""), Decimal("12.00")),
        ("\u00a09.50\u00a0", (".", ""), Decimal("9.50")),
        (".5", (".", ""), Decimal("0.50")),
        ("-0", (".", ""), Decimal("0.00")),
    ],
)
def test_price_examples(value: str, conv: tuple[str, str], expected: Decimal) -> None:
    parsed = parse_price(value, adapter(*conv))[0]
    assert parsed == expected
    assert str(parsed) == str(expected)


@pytest.mark.parametrize(
    ("value", "conv", "reason"),
    [
        ("", (".", ""), "price is required"),
        ("abc", (".", ""), "not a number"),
        ("9,99", (".", ""), "not a number in this partner's format"),
        ("1.234,56", (".", ","), "not a number in this partner's format"),
        ("12,34,5", (".", ","), "misplaced thousands separators"),
        ("¥9", (".", ""), "unknown currency symbol '¥'"),
        ("$9.99 EUR", (".", ""), "names two currencies"),
        ("10000000000.00", (".", ""), "too large for DECIMAL(12,2)"),
        (True, (".", ""), "price is required"),
        (Decimal("NaN"), (".", ""), "not a number"),
    ],
)
def test_price_rejections(value: object, conv: tuple[str, str], reason: str) -> None:
    with pytest.raises(RowRejected, match=reason.replace("(", r"\(").replace(")", r"\)")):
        parse_price(value, adapter(*conv))


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"sku": "  ", "name": "n", "price": "1", "stock": "1"}, "sku is required"),
        ({"sku": "s", "name": "", "price": "1", "stock": "1"}, "name is required"),
        ({"sku": "s", "name": "n", "stock": "1"}, "price is required"),
        ({"sku": "s", "name": "n", "price": "1"}, "stock is required"),
        (
            {"sku": "s", "name": "n", "price": "$1", "stock": "1", "currency": "EUR"},
            "price is in USD but currency says EUR",
        ),
        (
            {"sku": "s", "name": "n", "price": "1", "stock": "1", "updated_at": "31/12/2025"},
            "is not a date/time",
        ),
        ({"sku": ["s"], "name": "n", "price": "1", "stock": "1"}, "is not text"),
    ],
)
def test_row_rules(row: dict[str, object], reason: str) -> None:
    with pytest.raises(RowRejected, match=reason):
        validate(row, adapter())


def test_valid_row_is_trimmed_and_typed() -> None:
    product = validate(
        {"sku": " A-1 ", "name": " Thing ", "price": "€ 3", "stock": " 7 ", "description": " "},
        adapter(),
    )
    assert product == {
        "sku": "A-1",
        "name": "Thing",
        "price": Decimal("3.00"),
        "stock": 7,
        "currency": "EUR",
        "description": None,
        "updated_at": None,
    }


def test_registry_adapters_are_data() -> None:
    acme = REGISTRY.adapter("acme")
    assert (acme.delimiter, acme.decimal_separator, acme.thousands_separator, acme.currency) == (
        ";",
        ",",
        ".",
        "EUR",
    )
    assert acme.column_for("Artikelnummer") == "sku"
    assert acme.column_for("\ufeffSKU") == "sku"  # the default aliases stay available
    assert REGISTRY.adapter("someone-new").column_for("Item_Code") == "sku"
    assert REGISTRY.adapter("someone-new").column_for("Artikelnummer") is None
    assert not REGISTRY.known("someone-new")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("partners: {p: {colour: red}}", "unknown adapter keys"),
        ("partners: {p: {columns: {size: [s]}}}", "unknown column 'size'"),
        ("partners: {p: {currency: euro}}", "not a 3-letter ISO code"),
        (
            "partners: {p: {decimal_separator: ',', thousands_separator: ','}}",
            "separators are the same",
        ),
        ("partners: {p: {encoding: klingon}}", "unknown encoding"),
        ("partners: {p: {columns: {sku: [code], name: [code]}}}", "aliases used for two columns"),
        ("partners: [", "cannot read partner registry"),
    ],
)
def test_bad_registry_is_refused(yaml_text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "partners.yaml"
    path.write_text(yaml_text)
    with pytest.raises(RegistryError, match=message):
        PartnerRegistry.load(path)
