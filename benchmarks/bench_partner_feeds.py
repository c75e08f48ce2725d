"""Partner feeds throughput: one large acme-style CSV (BOM, ';', decimal comma) into DuckDB.

Prints rows/s for: parsing + validation alone (the adapter work, no dlt), the whole pipeline
(extract, normalize, parquet load, merge), a re-delivery of the same file (duplicate check),
and DuckDB's own read_csv of the file as the raw ceiling.

    .venv/bin/python benchmarks/bench_partner_feeds.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import codecs
import os
import tempfile
import time
from pathlib import Path

import duckdb

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")

from pipelines.partner_feeds import Feed, PartnerFeedsSettings, run
from pipelines.partner_feeds.feeds import FeedReader
from pipelines.partner_feeds.registry import PartnerRegistry
from pipelines.partner_feeds.validation import validate


def write_feed(path: Path, rows: int) -> None:
    with path.open("wb") as fh:
        fh.write(codecs.BOM_UTF8)
        fh.write(b"Artikelnummer;Bezeichnung;Preis;Bestand;Beschreibung;Geaendert_am\r\n")
        for i in range(rows):
            price = (
                f"{(i % 250000) / 100 + 1:,.2f}".replace(",", "_")
                .replace(".", ",")
                .replace("_", ".")
            )
            line = (
                f"ACME-{i:07d};Artikel {i};{price};{i % 500};Beschreibung {i};01.03.2025 08:30\r\n"
            )
            fh.write(line.encode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-partner-feeds-") as tmp:
        root = Path(tmp)
        feed_path = root / "landing" / "acme" / "catalog.csv"
        feed_path.parent.mkdir(parents=True)
        write_feed(feed_path, args.rows)
        size_mb = feed_path.stat().st_size / 1e6
        settings = PartnerFeedsSettings.resolve(
            landing_dir=root / "landing",
            archive_dir=root / "archive",
            destination="duckdb",
            duckdb_path=root / "catalog.duckdb",
            pipelines_dir=root / "pipelines",
            dataset_name="partner_catalog",
            registry_path="",
            settle_seconds=0,  # the file was just written, whole
        )

        adapter = PartnerRegistry.load().adapter("acme")
        started = time.perf_counter()
        reader = FeedReader(Feed.from_path("acme", feed_path), adapter)
        reader.check()
        valid = sum(1 for row in reader.rows() if validate(row.fields, adapter))
        parse_s = time.perf_counter() - started

        started = time.perf_counter()
        report = run(settings)
        pipeline_s = time.perf_counter() - started
        assert report.rows_loaded == valid == args.rows, (report.rows_loaded, valid)

        copy = settings.landing_dir / "acme" / "catalog-again.csv"
        copy.write_bytes((root / "archive" / "loaded" / "acme").iterdir().__next__().read_bytes())
        started = time.perf_counter()
        again = run(settings)
        duplicate_s = time.perf_counter() - started
        assert again.outcomes[0].status == "duplicate"

        archived = next((root / "archive" / "loaded" / "acme").iterdir())
        started = time.perf_counter()
        with duckdb.connect() as conn:
            raw = conn.execute(
                "SELECT count(*) FROM read_csv(?, delim=';', header=true, decimal_separator=',')",
                [str(archived)],
            ).fetchone()
        raw_s = time.perf_counter() - started
        assert raw is not None

    print(f"feed: {args.rows} rows, {size_mb:.1f} MB (acme: BOM, ';', decimal comma, dd.mm.yyyy)")
    print(f"parse + validate only     {parse_s:6.2f}s  {args.rows / parse_s:9,.0f} rows/s")
    print(f"pipeline into DuckDB      {pipeline_s:6.2f}s  {args.rows / pipeline_s:9,.0f} rows/s")
    print(f"  ratio pipeline / parse+validate: {parse_s / pipeline_s:.2f}")
    print(f"same file again           {duplicate_s:6.2f}s  (a duplicate: nothing loaded)")
    print(
        f"duckdb read_csv (ceiling) {raw_s:6.2f}s  {args.rows / raw_s:9,.0f} rows/s (no validation)"
    )


if __name__ == "__main__":
    main()
