"""The feed contract and its examples for every partner of the registry (and an unknown one)."""

from __future__ import annotations

import pytest

from pipelines.partner_feeds.contract import contract, examples
from pipelines.partner_feeds.feeds import Feed, FeedReader
from pipelines.partner_feeds.registry import FIELDS, PartnerRegistry
from pipelines.partner_feeds.validation import validate

REGISTRY = PartnerRegistry.load()


@pytest.mark.parametrize("partner", ["acme", "globex", "initech", "not-listed"])
def test_examples_read_and_validate_in_the_partners_format(partner: str) -> None:
    adapter = REGISTRY.adapter(partner)
    for fmt, body in examples(adapter).items():
        rows = list(FeedReader(Feed(partner, f"e.{fmt}", content=body), adapter).rows())
        assert [validate(r.fields, adapter)["sku"] for r in rows] == ["EX-1", "EX-2"]
    described = contract(adapter)
    assert [f["name"] for f in described["fields"]] == list(FIELDS)
    assert described["format"]["decimal_separator"] == adapter.decimal_separator


def test_rules_are_what_validate_answers() -> None:
    adapter = REGISTRY.adapter("globex")  # "$1,299.00" prices
    price = next(f for f in contract(adapter)["fields"] if f["name"] == "price")
    by_value = {e["value"]: e for e in price["examples"]}
    assert by_value["1,234.50"] == {"value": "1,234.50", "accepted": True, "stored_as": "1234.50"}
    assert by_value["-1"]["accepted"] is False
    assert "negative" in by_value["-1"]["reason"]
    stock = next(f for f in contract(adapter)["fields"] if f["name"] == "stock")
    assert stock["value_required"] is True
    assert stock["type"] == "bigint"
