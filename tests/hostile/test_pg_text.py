"""Text PostgreSQL cannot store (NUL, lone surrogates) in partner feeds bound for Postgres.

Before: one NUL in a CSV cell failed the COPY; the load package stayed pending and every
later run retried it first, so no partner's feed landed again. Now such characters become
U+FFFD under the same rule as target-postgres (connector_kit.pgtext), row by row.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from connector_kit.pgtext import REPLACEMENT, storable

from pipelines.partner_feeds import FeedStatus, run
from tests.conftest import VENV_BIN

from .data_fixtures import _partner_feeds_env, feeds_settings, fresh_db, land, query

__all__ = ["_partner_feeds_env", "fresh_db"]
pytestmark = pytest.mark.e2e


def test_the_rule_replaces_only_what_postgres_cannot_store() -> None:
    assert storable("a\x00b\ud800c\udfffd") == f"a{REPLACEMENT}b{REPLACEMENT}c{REPLACEMENT}d"
    text = "tabs\tnew\nlines\r, quotes \" ' \\ , emoji \U0001f600, umlaut \u00e4, \\u0000"
    assert storable(text) == text


def test_nul_and_lone_surrogates_land_replaced_and_never_block(
    tmp_path: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    settings = feeds_settings(tmp_path)
    land(
        settings,
        "acme",
        "nul.csv",
        b"sku;name;price;stock\nA1;Bolt\x00M8;1,00;1\nA2;Nut;2,00;2\n",
    )
    land(  # a JSON \ud800 escape decodes to a lone surrogate, which UTF-8 cannot hold
        settings,
        "initech",
        "lone.json",
        b'{"products": [{"sku": "I1", "name": "Gear \\ud800", "price": 3, "stock": 3}]}',
    )
    land(settings, "globex", "ok.csv", b"SKU,Product,Price,In Stock\nG1,Washer,$1.00,5\n")
    # a file name with bytes that are not UTF-8: Python holds them as lone surrogates
    land(settings, "zeta", "zeta-\udcff.csv", b"sku,name,price,stock\nZ1,Zed,1.00,1\n")

    report = run(settings)

    assert {o.feed_file: o.status for o in report.outcomes} == {
        "nul.csv": FeedStatus.LOADED,
        "lone.json": FeedStatus.LOADED,
        "ok.csv": FeedStatus.LOADED,
        "zeta-\ufffd.csv": FeedStatus.LOADED,
    }
    assert report.exit_code == 0
    assert not report.set_aside
    rows = dict(query(fresh_db, "SELECT sku, name FROM partner_catalog.catalog_products"))
    # the replaced character stays visible where it was: that is the record of the change
    assert rows == {
        "A1": f"Bolt{REPLACEMENT}M8",
        "A2": "Nut",
        "I1": f"Gear {REPLACEMENT}",
        "G1": "Washer",
        "Z1": "Zed",
    }
    files = {r[0] for r in query(fresh_db, "SELECT feed_file FROM partner_catalog.feed_imports")}
    assert f"zeta-{REPLACEMENT}.csv" in files

    # the next run is not blocked: nothing pending, a new feed lands
    land(settings, "acme", "next.csv", b"sku;name;price;stock\nA3;Pin;3,00;3\n")
    again = run(settings)
    assert [(o.feed_file, o.status) for o in again.outcomes] == [("next.csv", FeedStatus.LOADED)]
    assert query(
        fresh_db, "SELECT name FROM partner_catalog.catalog_products WHERE sku = 'A3'"
    ) == [("Pin",)]


def test_a_rejected_row_with_a_nul_keeps_its_reason_and_raw_row(
    tmp_path: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    settings = feeds_settings(tmp_path)
    land(
        settings,
        "acme",
        "bad.csv",
        b"sku;name;price;stock\nA1;Bolt;x\x00y;1\nA2;Nut;2,00;2\n",
    )

    report = run(settings)

    assert report.outcomes[0].status == FeedStatus.LOADED
    assert report.rows_loaded == 1
    assert report.rows_rejected == 1
    [(reason, raw)] = query(fresh_db, "SELECT reason, raw FROM partner_catalog.rejects")
    assert reason.startswith("price 'x\\x00y'")
    assert "x\\u0000y" in raw  # JSON text: the NUL written as its escape


def test_target_postgres_applies_the_same_rule_to_records(fresh_db: str, tmp_path: Path) -> None:
    """Before: a lone surrogate in a RECORD failed the whole batch (UnicodeEncodeError)."""
    messages = tmp_path / "in.singer"
    messages.write_text(
        '{"type":"SCHEMA","stream":"t","schema":{"type":"object","properties":'
        '{"id":{"type":"integer"},"s":{"type":"string"}}},"key_properties":["id"]}\n'
        '{"type":"RECORD","stream":"t","record":{"id":1,"s":"a\\ud800b\\u0000c"}}\n'
        '{"type":"RECORD","stream":"t","record":{"id":2,"s":"ok"}}\n'
    )
    config = tmp_path / "target.json"
    config.write_text(
        json.dumps({"database_url": fresh_db, "dead_letter_path": str(tmp_path / "dl.jsonl")})
    )
    with messages.open() as stdin:
        result = subprocess.run(
            [str(VENV_BIN / "target-postgres"), "--config", str(config)],
            stdin=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    [(schema,)] = query(
        fresh_db, "SELECT table_schema FROM information_schema.tables WHERE table_name = 't'"
    )
    rows = query(fresh_db, f'SELECT id, s FROM "{schema}".t ORDER BY id')
    assert rows == [(1, f"a{REPLACEMENT}b{REPLACEMENT}c"), (2, "ok")]
