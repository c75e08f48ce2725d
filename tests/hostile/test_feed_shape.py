"""Partner feed shapes: an alias clash means the same in JSON and CSV; one huge field, one row.

Before: a JSON feed carrying two aliases of one column (`sku` and `item_code`) kept one and
silently dropped the other, while the same clash in a CSV header rejected the feed; and one
CSV field over 128 KB (csv's built-in limit) rejected the whole feed as corrupt. Now both
formats reject the feed on a clash, with the same reason, and the field limit is the setting
`max_field_chars`: an oversize field rejects its row, the rest of the feed loads.
Run against the sandbox Postgres.
"""

from __future__ import annotations

import json
import os

import psycopg2
import pytest

from pipelines.partner_feeds import FeedStatus, PartnerFeedsSettings, run
from tests.partner_feeds.conftest import land

pytestmark = pytest.mark.e2e
BIG = "d" * 200_000  # over csv's old 131,072-character field limit


def query(sql: str) -> list[tuple]:
    with (
        psycopg2.connect(os.environ["DATABASE_URL"].replace("+psycopg2", "")) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SET search_path TO partner_catalog")
        cur.execute(sql)
        rows = cur.fetchall()
    conn.close()
    return rows


def test_alias_clash_and_oversize_field(postgres_settings: PartnerFeedsSettings) -> None:
    settings = postgres_settings
    clash = [{"sku": "J-1", "item_code": "J-1b", "name": "Json", "price": 1, "stock": 1}]
    land(settings, "json-clash", "feed.json", json.dumps(clash))
    land(settings, "csv-clash", "feed.csv", "sku,item_code,name,price,stock\nC-1,C-1b,Csv,1,1\n")
    land(
        settings,
        "wide",
        "feed.csv",
        "sku,name,price,stock,description\n"
        f"W-1,First,1.00,1,short\nW-2,Second,1.00,1,{BIG}\nW-3,Third,1.00,1,short\n",
    )

    report = run(settings)

    outcomes = {o.partner: o for o in report.outcomes}
    assert outcomes["json-clash"].status == outcomes["csv-clash"].status == FeedStatus.FAILED
    assert outcomes["json-clash"].error == (
        "wrong fields in record 1: 'sku' and 'item_code' both mean sku"
    )
    assert (
        outcomes["csv-clash"].error == "wrong header: columns 'sku' and 'item_code' both mean sku"
    )
    assert outcomes["wide"].status == FeedStatus.LOADED
    assert query("SELECT partner, sku FROM catalog_products ORDER BY sku") == [
        ("wide", "W-1"),
        ("wide", "W-3"),
    ]
    ((row_number, reason, raw),) = query("SELECT row_number, reason, raw FROM rejects")
    assert row_number == 2
    assert reason == (
        "field 'description' has 200000 characters, over the limit of 131072"
        " (setting max_field_chars)"
    )
    assert len(raw) < 1000  # the oversize value is not copied whole into the rejects table
    assert json.loads(raw)["sku"] == "W-2"

    # the next run is not blocked: the corrected feeds load, and a higher limit takes the row
    wider = PartnerFeedsSettings(**{**settings.__dict__, "max_field_chars": 250_000})
    fixed = [{"sku": "J-1", "name": "Json", "price": 1, "stock": 1}]
    land(wider, "json-clash", "feed-fixed.json", json.dumps(fixed))
    land(wider, "csv-clash", "feed-fixed.csv", "sku,name,price,stock\nC-1,Csv,1,1\n")
    land(wider, "wide", "again.csv", f"sku,name,price,stock,description\nW-2,Second,1,1,{BIG}\n")

    again = run(wider)

    assert [o.status for o in again.outcomes] == [FeedStatus.LOADED] * 3
    assert query("SELECT sku, length(description) FROM catalog_products ORDER BY sku") == [
        ("C-1", None),
        ("J-1", None),
        ("W-1", 5),
        ("W-2", 200_000),
        ("W-3", 5),
    ]
