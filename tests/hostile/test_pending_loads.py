"""A load package the destination refuses for good: set aside, never blocking later runs.

Before: a package whose COPY failed stayed pending; every later run retried it first (even
after its file was deleted), so no other partner's feed landed, and the summary said
pending=0. The destination here refuses rows through a real CHECK constraint, the way an
operator's constraint (or any value the pipeline cannot foresee) would.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.partner_feeds import Feed, FeedStatus, make_pipeline, run
from pipelines.partner_feeds.pipeline import file_rules, landing_feeds
from pipelines.partner_feeds.registry import PartnerRegistry
from pipelines.partner_feeds.source import partner_feeds_resource
from tests.conftest import summaries

from .data_fixtures import _partner_feeds_env, feeds_cli, feeds_settings, fresh_db, land, query

__all__ = ["_partner_feeds_env", "fresh_db"]
pytestmark = pytest.mark.e2e
ACME_POISON = b"sku;name;price;stock\nA1;Bolt;1,00;1\nPOISON;Bad;2,00;2\n"
GLOBEX_OK = b"SKU,Product,Price,In Stock\nG1,Washer,$1.00,5\n"


def refuse_poison(url: str) -> None:
    """The destination refuses one sku: a constraint the pipeline knows nothing about."""
    land_table = "partner_catalog.catalog_products"
    query(url, f"ALTER TABLE {land_table} ADD CONSTRAINT no_poison CHECK (sku <> 'POISON')")


def first_load(settings, url: str) -> None:  # type: ignore[no-untyped-def]
    land(
        settings,
        "initech",
        "seed.json",
        b'{"products": [{"sku": "I1", "name": "Gear", "price": 1, "stock": 1}]}',
    )
    assert run(settings).exit_code == 0
    refuse_poison(url)


def test_refused_feed_is_failed_with_its_reason_and_the_others_land(
    tmp_path: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    settings = feeds_settings(tmp_path)
    first_load(settings, fresh_db)
    land(settings, "acme", "poison.csv", ACME_POISON)
    land(settings, "globex", "ok.csv", GLOBEX_OK)

    report = run(settings)

    outcomes = {o.feed_file: o for o in report.outcomes}
    assert outcomes["ok.csv"].status == FeedStatus.LOADED
    assert outcomes["poison.csv"].status == FeedStatus.FAILED
    assert "no_poison" in (outcomes["poison.csv"].error or "")
    assert report.exit_code == 1
    assert report.set_aside  # the run's package, then the acme feed's own
    skus = {r[0] for r in query(fresh_db, "SELECT sku FROM partner_catalog.catalog_products")}
    assert skus == {"I1", "G1"}  # acme's good row went back with its feed: a feed is whole
    ledger = query(
        fresh_db,
        "SELECT feed_file, status, error FROM partner_catalog.feed_imports ORDER BY imported_at",
    )
    assert [(f, s) for f, s, _ in ledger] == [
        ("seed.json", "loaded"),
        ("ok.csv", "loaded"),
        ("poison.csv", "failed"),
    ]
    assert "no_poison" in ledger[-1][2]  # the reason is recorded
    assert list((settings.archive_dir / "failed" / "acme").glob("*poison.csv"))
    # dlt keeps the set-aside packages, with their failed jobs, for inspection
    pipeline = make_pipeline(settings)
    assert not pipeline.has_pending_data
    assert any(pipeline.list_failed_jobs_in_package(i) for i in report.set_aside)

    # the next run is not blocked
    land(settings, "acme", "fixed.csv", b"sku;name;price;stock\nA1;Bolt;1,00;1\n")
    again = run(settings)
    assert [(o.feed_file, o.status) for o in again.outcomes] == [("fixed.csv", FeedStatus.LOADED)]
    assert again.exit_code == 0


def test_a_refused_leftover_package_is_set_aside_even_when_its_file_is_gone(
    tmp_path: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    settings = feeds_settings(tmp_path)
    first_load(settings, fresh_db)
    # a run extracted the poison feed and died before loading it; the file was then deleted
    poison = land(settings, "acme", "poison.csv", ACME_POISON)
    pipeline = make_pipeline(settings)
    feed = landing_feeds(settings.landing_dir, rules=file_rules(settings))
    pipeline.extract(
        partner_feeds_resource(feed, PartnerRegistry.load(settings.registry_path), set(), [])
    )
    pipeline.normalize()
    poison.unlink()
    land(settings, "globex", "ok.csv", GLOBEX_OK)

    result = feeds_cli(settings, DATABASE_URL=fresh_db)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "load refused, package set aside pipeline=partner_feeds" in result.stderr
    assert "feeds=acme/poison.csv" in result.stderr
    (run_summary,) = summaries(result.stderr)
    counts = ("feeds", "loaded", "duplicates", "failed", "pending", "loads_set_aside")
    assert [run_summary[k] for k in counts] == [2, 1, 0, 1, 0, 1]
    skus = {r[0] for r in query(fresh_db, "SELECT sku FROM partner_catalog.catalog_products")}
    assert skus == {"I1", "G1"}
    failed = query(
        fresh_db,
        "SELECT feed_file, error FROM partner_catalog.feed_imports WHERE status = 'failed'",
    )
    assert failed[0][0] == "poison.csv"
    assert "no_poison" in failed[0][1]
    assert not make_pipeline(settings).has_pending_data

    land(settings, "globex", "next.csv", b"SKU,Product,Price,In Stock\nG2,Nut,$2.00,1\n")
    assert run(settings).exit_code == 0


def test_destination_down_keeps_the_package_and_counts_every_feed_pending(
    tmp_path: Path, fresh_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", fresh_db)
    settings = feeds_settings(tmp_path)
    land(settings, "acme", "a.csv", b"sku;name;price;stock\nA1;Bolt;1,00;1\n")
    pipeline = make_pipeline(settings)
    pipeline.extract(
        partner_feeds_resource(
            [Feed("acme", "a.csv", content=b"sku;name;price;stock\nA1;Bolt;1,00;1\n")],
            PartnerRegistry.load(settings.registry_path),
            set(),
            [],
        )
    )
    land(settings, "globex", "ok.csv", GLOBEX_OK)
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")

    down = run(settings)

    assert down.exit_code == 1
    assert down.load_error
    assert {o.status for o in down.outcomes} == {FeedStatus.PENDING}
    assert len(down.outcomes) == 2  # the summary's pending= counts what waits
    assert make_pipeline(settings).has_pending_data  # not set aside: it may pass
    assert (settings.landing_dir / "globex" / "ok.csv").exists()

    monkeypatch.setenv("DATABASE_URL", fresh_db)
    up = run(settings)
    assert up.exit_code == 0
    assert {o.feed_file: o.status for o in up.outcomes} == {
        "a.csv": FeedStatus.DUPLICATE,  # landed from the pending package first
        "ok.csv": FeedStatus.LOADED,
    }
