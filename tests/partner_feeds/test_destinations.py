"""The real CLIs (python -m, meltano, dlt) and the Postgres destination of the sandbox."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from decimal import Decimal

import psycopg2
import pytest

from pipelines.partner_feeds import FeedStatus, PartnerFeedsSettings, ingest_feed, run
from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN, run_meltano, summaries

from .conftest import SAMPLES, Catalog, cli_env, land

pytestmark = pytest.mark.e2e


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.partner_feeds", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_loads_and_reports_a_corrupt_feed_clearly(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    shutil.copytree(SAMPLES, settings.landing_dir)
    land(settings, "broken", "cut.json", b'[{"sku": "X", "name": "Y", "price": 1, "st')

    result = run_cli(cli_env(settings))

    assert result.returncode == 1, result.stderr
    assert "feed rejected partner=broken file=cut.json" in result.stderr
    assert 'error="invalid JSON: parse error: premature EOF"' in result.stderr
    assert "Traceback" not in result.stderr
    (run,) = summaries(result.stderr)
    assert (run["feeds"], run["loaded"], run["duplicates"], run["failed"]) == (4, 3, 0, 1)
    assert (run["inserted"], run["updated"]) == (10, 0)
    assert len(catalog.products()) == 10

    # the dlt CLI sees the pipeline's working dir and its state
    info = subprocess.run(
        [
            str(VENV_BIN / "dlt"),
            "pipeline",
            "--pipelines-dir",
            str(settings.pipelines_dir),
            "partner_feeds",
            "info",
            "-v",
        ],
        cwd=PROJECT_ROOT,
        env=cli_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert info.returncode == 0, info.stderr
    assert "dataset_name: partner_catalog" in info.stdout
    assert "catalog-2025-03-03.csv" in info.stdout  # the last feed per partner, kept in dlt state


def test_meltano_job_runs_the_pipeline(
    meltano_env: dict[str, str], settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    shutil.copytree(SAMPLES, settings.landing_dir)
    env = {**meltano_env, **cli_env(settings), "MELTANO_ENVIRONMENT": "prod"}

    first = run_meltano("run", "partner-feeds", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    shutil.copytree(
        SAMPLES, settings.landing_dir, dirs_exist_ok=True
    )  # the same files delivered again
    second = run_meltano("run", "dlt:partner-feeds", env=env)

    assert second.returncode == 0, second.stderr[-3000:]
    (run,) = summaries(second.stderr)
    assert (run["feeds"], run["loaded"], run["duplicates"], run["inserted"]) == (3, 0, 3, 0)
    assert len(catalog.products()) == 10
    assert catalog.rows(
        "SELECT status, count(*) FROM feed_imports GROUP BY status ORDER BY status"
    ) == [("duplicate", 3), ("loaded", 3)]


def test_postgres_destination(postgres_settings: PartnerFeedsSettings) -> None:
    settings = postgres_settings
    shutil.copytree(SAMPLES, settings.landing_dir)
    land(settings, "p", "mixed.csv", "sku,name,price,stock\nP-1,Fine,1.50,2\nP-2,Bad,1.50,-2\n")

    report = run(settings)
    again = ingest_feed(
        "p", "mixed-copy.csv", b"sku,name,price,stock\nP-1,Fine,1.50,2\nP-2,Bad,1.50,-2\n", settings
    )

    assert [o.status for o in report.outcomes] == [FeedStatus.LOADED] * 4
    assert again.status == FeedStatus.DUPLICATE
    with (
        psycopg2.connect(os.environ["DATABASE_URL"].replace("+psycopg2", "")) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SET search_path TO partner_catalog")
        cur.execute("SELECT count(*), sum(price) FROM catalog_products")
        assert cur.fetchone() == (11, Decimal("3107.87"))
        cur.execute("SELECT row_number, reason FROM rejects")
        assert cur.fetchall() == [(2, "stock '-2' is negative")]
        cur.execute("SELECT status, count(*) FROM feed_imports GROUP BY status ORDER BY status")
        assert cur.fetchall() == [("duplicate", 1), ("loaded", 4)]
        cur.execute(
            "SELECT column_name, data_type, numeric_precision, numeric_scale"
            " FROM information_schema.columns"
            " WHERE table_schema = 'partner_catalog' AND table_name = 'catalog_products'"
            " AND column_name IN ('price', 'stock', 'updated_at') ORDER BY column_name"
        )
        assert cur.fetchall() == [
            ("price", "numeric", 12, 2),
            ("stock", "bigint", 64, 0),
            ("updated_at", "timestamp with time zone", None, None),
        ]
    conn.close()


def test_unreachable_destination_is_one_clear_line(settings: PartnerFeedsSettings) -> None:
    land(settings, "p", "f.csv", "sku,name,price,stock\nA,B,1,1\n")
    env = cli_env(
        settings,
        PARTNER_FEEDS_DESTINATION="postgres",
        DATABASE_URL="postgresql://u:s3cret-pw@127.0.0.1:1/catalog",
    )
    result = run_cli(env)
    assert result.returncode == 1
    assert "sync failed pipeline=partner_feeds" in result.stderr
    assert "Connection refused" in result.stderr
    assert "Traceback" not in result.stderr
    assert "s3cret-pw" not in result.stderr
    assert (settings.landing_dir / "p" / "f.csv").exists()  # nothing settled, nothing moved
