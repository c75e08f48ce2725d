"""The partner_feeds pipeline end to end on DuckDB: real files in a landing folder, real dlt."""

from __future__ import annotations

import codecs
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from pipelines.partner_feeds import (
    Feed,
    FeedOutcome,
    FeedStatus,
    PartnerFeedsSettings,
    RunReport,
    ingest_feed,
    make_pipeline,
    run,
    run_feeds,
)
from pipelines.partner_feeds.ledger import imported_checksums
from pipelines.partner_feeds.registry import PartnerRegistry
from pipelines.partner_feeds.source import partner_feeds_resource

from .conftest import SAMPLES, Catalog, land, settings_in


def archive(settings: PartnerFeedsSettings) -> Path:
    assert settings.archive_dir is not None
    return settings.archive_dir


GOOD_CSV = "sku,name,price,stock\nOK-1,Good one,1.00,1\n"


def test_sample_feeds_land_with_their_types(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    shutil.copytree(SAMPLES, settings.landing_dir)

    report = run(settings)

    assert report.exit_code == 0
    assert [(o.partner, o.status) for o in report.outcomes] == [
        ("acme", FeedStatus.LOADED),
        ("globex", FeedStatus.LOADED),
        ("initech", FeedStatus.LOADED),
    ]
    products = catalog.products()
    assert len(products) == 10
    # acme: BOM + ';' + German column names + "1.249,00" + dd.mm.yyyy
    assert products[("acme", "ACME-002")][:4] == ("Bohrhammer", Decimal("1249.00"), 3, "EUR")
    assert products[("acme", "ACME-001")][5] == dt.datetime(2025, 3, 1, 8, 30, tzinfo=dt.UTC)
    assert products[("acme", "ACME-004")][:2] == (
        "Wasserwaage 60 cm",
        Decimal("14.50"),
    )  # sku trimmed
    # globex: cp1252 + "$1,299.00"
    assert products[("globex", "GX-100")][:4] == (
        "Café espresso machine",
        Decimal("1299.00"),
        5,
        "USD",
    )
    # initech: JSON under "products", numbers and strings mixed
    assert products[("initech", "IN-1")][:3] == ("TPS report cover", Decimal("2.50"), 1000)
    types = dict(
        catalog.rows(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'partner_catalog' AND table_name = 'catalog_products'"
        )
    )
    assert types["price"] == "DECIMAL(12,2)"
    assert types["stock"] == "BIGINT"
    assert types["updated_at"] == "TIMESTAMP WITH TIME ZONE"
    assert sorted(p.name for p in (archive(settings) / "loaded").iterdir()) == [
        "acme",
        "globex",
        "initech",
    ]
    assert not list(settings.landing_dir.rglob("*.*"))


QUIRKS = {
    # name: (partner, file name, bytes, expected (sku, price, currency))
    "alias SKU/item_code": (
        "anyone",
        "f.csv",
        b"Item_Code,Title,Unit_Price,QTY\nA-1,Thing,3.50,2\n",
        ("A-1", "3.50", None),
    ),
    "alias upper-case SKU": (
        "globex",
        "f.csv",
        b"SKU,Product,Price,In Stock\nG-1,Thing,3.50,2\n",
        ("G-1", "3.50", None),
    ),
    "decimal comma": (
        "acme",
        "f.csv",
        b"artikelnummer;bezeichnung;preis;bestand\nA-2;Ding;9,99;1\n",
        ("A-2", "9.99", "EUR"),
    ),
    "thousands + decimal comma": (
        "acme",
        "f.csv",
        b"sku;name;price;stock\nA-3;Ding;1.234,56;1\n",
        ("A-3", "1234.56", "EUR"),
    ),
    "currency symbol": (
        "anyone",
        "f.csv",
        b"sku,name,price,stock\nD-1,Thing,$9.99,1\n",
        ("D-1", "9.99", "USD"),
    ),
    "currency symbol suffix": (
        "anyone",
        "f.csv",
        "sku,name,price,stock\nD-2,Thing,9.99 \u20ac,1\n".encode(),
        ("D-2", "9.99", "EUR"),
    ),
    "BOM": (
        "anyone",
        "f.csv",
        codecs.BOM_UTF8 + b"sku,name,price,stock\nB-1,Thing,1.00,1\n",
        ("B-1", "1.00", None),
    ),
    "semicolons": (
        "acme",
        "f.csv",
        b"sku;name;price;stock\nS-1;Thing;2;1\n",
        ("S-1", "2.00", "EUR"),
    ),
    "cp1252 encoding": (
        "globex",
        "f.csv",
        "SKU,Product,Price,In Stock\nE-1,Caf\u00e9,$1,299.00,1\n".encode("cp1252"),
        None,
    ),
    "quoted thousands": (
        "globex",
        "f.csv",
        'SKU,Product,Price,In Stock\nE-2,Caf\u00e9,"$1,299.00",1\n'.encode("cp1252"),
        ("E-2", "1299.00", "USD"),
    ),
    "JSON object with key": (
        "initech",
        "f.json",
        b'{"products": [{"item_code": "J-1", "title": "T", "unit_price": 0.1, "qty": "3"}]}',
        ("J-1", "0.10", "USD"),
    ),
    "JSON list": (
        "anyone",
        "f.json",
        b'[{"SKU": " J-2 ", "Name": "T", "Price": "12", "Stock": 3.0}]',
        ("J-2", "12.00", None),
    ),
    "CRLF line ends": (
        "anyone",
        "f.csv",
        b"sku,name,price,stock\r\nC-1,Thing,1.5,1\r\n",
        ("C-1", "1.50", None),
    ),
}


@pytest.fixture(scope="module")
def quirk_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Catalog, dict[str, FeedOutcome]]:
    """Every quirk feed in ONE run (each test then checks its own): one dlt run, not 13."""
    settings = settings_in(tmp_path_factory.mktemp("quirks"))
    names = sorted(QUIRKS)
    feeds = [
        Feed(QUIRKS[n][0], f"{i}-{QUIRKS[n][1]}", content=QUIRKS[n][2]) for i, n in enumerate(names)
    ]
    report = run_feeds(feeds, settings)
    return Catalog(settings), dict(zip(names, report.outcomes, strict=True))


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_adapter_quirk(quirk: str, quirk_run: tuple[Catalog, dict[str, FeedOutcome]]) -> None:
    catalog, outcomes = quirk_run
    partner, _, _, expected = QUIRKS[quirk]
    outcome = outcomes[quirk]
    if expected is None:  # unquoted "$1,299.00" in a ',' CSV: a field too many -> feed is corrupt
        assert outcome.status == FeedStatus.FAILED
        assert "5 fields, the header has 4" in (outcome.error or "")
        return
    assert (outcome.status, outcome.rows_loaded, outcome.rows_rejected, outcome.error) == (
        FeedStatus.LOADED,
        1,
        0,
        None,
    )
    sku, price, currency = expected
    row = catalog.products(partner)[(partner, sku)]
    assert (row[1], row[3]) == (Decimal(price), currency)


def test_same_file_twice_is_a_duplicate_no_op(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    content = (SAMPLES / "acme" / "catalog-2025-03-03.csv").read_bytes()
    land(settings, "acme", "catalog.csv", content)
    first = run(settings)
    loads_after_first = catalog.rows("SELECT DISTINCT _dlt_load_id FROM catalog_products")

    land(settings, "acme", "catalog-again.csv", content)  # same bytes, another name
    second = run(settings)

    assert [o.status for o in first.outcomes] == [FeedStatus.LOADED]
    assert [o.status for o in second.outcomes] == [FeedStatus.DUPLICATE]
    assert second.exit_code == 0
    assert catalog.rows("SELECT DISTINCT _dlt_load_id FROM catalog_products") == loads_after_first
    assert catalog.rows("SELECT count(*) FROM catalog_products") == [(4,)]
    assert catalog.rows(
        "SELECT feed_file, status, rows_loaded FROM feed_imports ORDER BY imported_at"
    ) == [("catalog.csv", "loaded", 4), ("catalog-again.csv", "duplicate", 0)]
    assert [
        p.name.endswith("catalog-again.csv")
        for p in (archive(settings) / "duplicate" / "acme").iterdir()
    ] == [True]
    # the same content from ANOTHER partner is that partner's feed, not a duplicate
    assert ingest_feed("p1", "f.csv", GOOD_CSV.encode(), settings).status == FeedStatus.LOADED
    assert ingest_feed("p2", "f.csv", GOOD_CSV.encode(), settings).status == FeedStatus.LOADED


def test_same_file_twice_in_one_run_is_loaded_once(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    land(settings, "p", "a.csv", GOOD_CSV)
    land(settings, "p", "b.csv", GOOD_CSV)
    report = run(settings)
    assert sorted(o.status for o in report.outcomes) == [FeedStatus.DUPLICATE, FeedStatus.LOADED]
    assert catalog.rows("SELECT count(*) FROM feed_imports WHERE status = 'loaded'") == [(1,)]


MALFORMED = (
    "sku,name,price,stock,currency,updated_at\n"
    "R-1,Fine,10.00,5,,\n"
    ",No sku,1.00,1,,\n"
    "R-3,,1.00,1,,\n"
    "R-4,Negative price,-1.00,1,,\n"
    "R-5,Three decimals,1.999,1,,\n"
    "R-6,Text stock,1.00,lots,,\n"
    "R-7,Fractional stock,1.00,2.5,,\n"
    "R-8,Negative stock,1.00,-3,,\n"
    "R-9,Bad currency,1.00,1,dollars,\n"
    "R-10,Bad date,1.00,1,,yesterday\n"
    "R-11,Decimal comma for a '.' partner,\"9,99\",1,,\n"
    "R-12,Fine too,0,0,usd,2025-01-02T03:04:05+02:00\n"
)


def test_malformed_rows_go_to_rejects_the_rest_loads(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    land(settings, "p", "mixed.csv", MALFORMED)
    report = run(settings)

    assert report.exit_code == 1  # rejects fail the run unless fail_on_rejects is off
    assert (report.rows_loaded, report.rows_rejected) == (2, 10)
    products = catalog.products()
    assert sorted(products) == [("p", "R-1"), ("p", "R-12")]
    assert products[("p", "R-12")][2:] == (
        0,
        "USD",
        None,
        dt.datetime(2025, 1, 2, 1, 4, 5, tzinfo=dt.UTC),
    )
    rejects = {
        r[0]: r[1:]
        for r in catalog.rows(
            "SELECT row_number, sku, reason, raw, partner, feed_file FROM rejects"
        )
    }
    reasons = {n: r[1] for n, r in rejects.items()}
    assert reasons == {
        2: "sku is required",
        3: "name is required",
        4: "price '-1.00' is negative",
        5: "price '1.999' has more than 2 decimal places",
        6: "stock 'lots' is not a number",
        7: "stock '2.5' is not a whole number",
        8: "stock '-3' is negative",
        9: "currency 'dollars' is not a 3-letter ISO code",
        10: "updated_at 'yesterday' is not a date/time",
        11: "price '9,99' is not a number in this partner's format",
    }
    assert rejects[6][0] == "R-6"
    assert json.loads(rejects[6][2]) == {
        "sku": "R-6",
        "name": "Text stock",
        "price": "1.00",
        "stock": "lots",
        "currency": "",
        "updated_at": "",
    }
    assert rejects[6][3:] == ("p", "mixed.csv")
    assert catalog.rows("SELECT status, rows_loaded, rows_rejected FROM feed_imports") == [
        ("loaded", 2, 10)
    ]


def test_rejects_can_be_allowed(settings: PartnerFeedsSettings) -> None:
    land(settings, "p", "mixed.csv", MALFORMED)
    lenient = PartnerFeedsSettings(**{**settings.__dict__, "fail_on_rejects": False})
    assert run(lenient).exit_code == 0


CORRUPT = {
    "unterminated quote": (
        "f.csv",
        b'sku,name,price,stock\nX-1,"Half a name,1.00,1\nX-2,Other,1.00,1\n',
        "corrupt CSV at line 3: unexpected end of data",
    ),
    "truncated mid-row": (
        "f.csv",
        b"sku,name,price,stock\nX-1,First,1.00,1\nX-2,Sec",
        "row 2 has 2 fields, the header has 4",
    ),
    "wrong header": (
        "f.csv",
        b"code,title,cost\nX-1,First,1.00\n",
        "wrong header: missing sku, price, stock (found: code, title, cost)",
    ),
    "empty file": ("f.csv", b"", "empty feed: no header row"),
    "invalid JSON": (
        "f.json",
        b'[{"sku": "X-1", "name": "First", "price": 1, "stock": 1}, {"sku": "X-2", "na',
        "invalid JSON after record 1: parse error: premature EOF",
    ),
    "JSON not a list": ("f.json", b'{"sku": "X-1"}', "JSON feed must be a list of product objects"),
    "undecodable bytes": (
        "f.csv",
        b"sku,name,price,stock\nX-1,Caf\xe9,1.00,1\n",
        "cannot decode as utf-8 at byte 28",
    ),
}


@pytest.fixture(scope="module")
def corrupt_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[PartnerFeedsSettings, RunReport]:
    """Every corrupt feed (partner bad-<n>) plus one good feed, in ONE run."""
    settings = settings_in(tmp_path_factory.mktemp("corrupt"))
    for number, case in enumerate(sorted(CORRUPT)):
        name, content, _ = CORRUPT[case]
        land(settings, f"bad-{number}", name, content)
    land(settings, "good", "good.csv", GOOD_CSV)
    return settings, run(settings)


def test_corrupt_feeds_leave_the_good_one_alone(
    corrupt_run: tuple[PartnerFeedsSettings, RunReport],
) -> None:
    settings, report = corrupt_run
    catalog = Catalog(settings)
    assert report.exit_code == 1
    assert [o.status for o in report.outcomes if o.partner == "good"] == [FeedStatus.LOADED]
    # nothing of any bad feed landed, not even the good first rows some of them have
    assert catalog.rows("SELECT partner, count(*) FROM catalog_products GROUP BY partner") == [
        ("good", 1)
    ]
    assert catalog.rows("SELECT count(*) FROM rejects") == []  # the table was never needed


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_feed_is_rejected_whole(
    case: str, corrupt_run: tuple[PartnerFeedsSettings, RunReport]
) -> None:
    settings, report = corrupt_run
    partner = f"bad-{sorted(CORRUPT).index(case)}"
    name, _, error = CORRUPT[case]
    outcome = next(o for o in report.outcomes if o.partner == partner)
    assert outcome.status == FeedStatus.FAILED
    assert error in (outcome.error or "")
    ledger = Catalog(settings).rows(
        "SELECT status, rows_loaded, rows_rejected, error FROM feed_imports WHERE partner = ?",
        partner,
    )
    assert len(ledger) == 1
    assert ledger[0][:3] == ("failed", 0, 0)
    assert error in ledger[0][3]
    folder = archive(settings) / "failed" / partner
    archived = [p for p in folder.iterdir() if p.suffix != ".reason"]
    assert [p.name.endswith(name) for p in archived] == [True]
    # the reason is kept beside the file (a changed file is looked at again, tests/hostile)
    reason = archived[0].with_name(archived[0].name + ".reason").read_text()
    assert reason.splitlines()[0] == ledger[0][3]


def test_a_fixed_feed_after_a_failed_one_loads(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    assert ingest_feed("p", "f.csv", b"sku,name,price\n", settings).status == FeedStatus.FAILED
    assert ingest_feed("p", "f.csv", GOOD_CSV.encode(), settings).status == FeedStatus.LOADED
    assert len(catalog.products()) == 1


def test_later_feed_updates_the_catalog_by_partner_and_sku(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    ingest_feed("p", "1.csv", b"sku,name,price,stock\nU-1,Old,1.00,1\nU-2,Kept,2.00,2\n", settings)
    ingest_feed("q", "1.csv", b"sku,name,price,stock\nU-1,Other partner,5.00,5\n", settings)
    # one run, two feeds of p touching U-1, the second has it twice: the last row wins
    land(settings, "p", "2.csv", b"sku,name,price,stock\nU-1,Newer,3.00,3\n")
    land(settings, "p", "3.csv", b"sku,name,price,stock\nU-1,Not last,4.00,4\nU-1,Newest,4.50,4\n")
    run(settings)

    products = catalog.products()
    assert products[("p", "U-1")][:3] == ("Newest", Decimal("4.50"), 4)
    assert products[("p", "U-2")][:2] == ("Kept", Decimal("2.00"))
    assert products[("q", "U-1")][:2] == ("Other partner", Decimal("5.00"))
    assert catalog.rows("SELECT count(*) FROM catalog_products") == [(3,)]


def test_pending_package_is_loaded_before_the_ledger_is_read(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    """A run died after extract: its package (rows + ledger row) is finished by the next run."""
    feed = Feed("p", "f.csv", content=GOOD_CSV.encode())
    pipeline = make_pipeline(settings)
    pipeline.extract(
        partner_feeds_resource([feed], PartnerRegistry.load(settings.registry_path), set(), [])
    )
    pipeline.normalize()  # ... and the process was killed before load
    assert catalog.products() == {}
    assert imported_checksums(pipeline, [feed.checksum]) == set()

    outcome = ingest_feed("p", "again.csv", GOOD_CSV.encode(), settings)

    assert outcome.status == FeedStatus.DUPLICATE
    assert sorted(catalog.products()) == [("p", "OK-1")]
    assert catalog.rows("SELECT feed_file, status FROM feed_imports ORDER BY imported_at") == [
        ("f.csv", "loaded"),
        ("again.csv", "duplicate"),
    ]


def test_other_files_are_left_alone(settings: PartnerFeedsSettings, tmp_path: Path) -> None:
    notes = land(settings, "p", "README.txt", "not a feed")
    report = run(settings)
    assert report.outcomes == []
    assert notes.exists()


def test_sandbox_seeds_the_landing_folder_once_per_partner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sandbox import partner_feeds as sandbox_feeds
    from sandbox.settings import SandboxConfig

    monkeypatch.delenv("PARTNER_FEEDS_DIR", raising=False)
    cfg = SandboxConfig(root=tmp_path, inbound_dir=tmp_path / "data" / "inbound")
    landing = tmp_path / "data" / "partner_feeds"

    assert sandbox_feeds.seed_landing(cfg) == 3
    assert sorted(p.relative_to(landing).as_posix() for p in landing.rglob("*.*")) == [
        "acme/catalog-2025-03-03.csv",
        "globex/products.csv",
        "initech/catalog.json",
    ]
    (landing / "acme" / "catalog-2025-03-03.csv").unlink()  # processed and archived
    assert sandbox_feeds.seed_landing(cfg) == 0
    assert not (landing / "acme" / "catalog-2025-03-03.csv").exists()
