"""`make sync` end to end: every meltano job, in the prod wiring, against a sandbox of its own.

One module-scoped pair of syncs (they cost about a minute each) backs every test here: the
first loads everything, the second finds nothing new. The run reports must agree with what
the destinations hold.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pymongo
import pytest
import requests

import sandbox
from ops import report
from sandbox.settings import PROJECT_ROOT, SandboxConfig
from tests.conftest import run_meltano, sandbox_root

JOBS = {
    "glassdome",
    "tracos-inbound",
    "tracos-outbound",
    "mes-warehouse",
    "customers",
    "offers",
    "partner-feeds",
}


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[SandboxConfig]:
    root = sandbox_root()
    cfg = SandboxConfig.ephemeral(root)
    sandbox.up(cfg)
    yield cfg
    sandbox.down(cfg)
    shutil.rmtree(root, ignore_errors=True)


def _pg_count(url: str, sql: str) -> int:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        (count,) = cur.fetchone()
    conn.close()
    return int(count)


def _duckdb_count(path: Path, table: str) -> int:
    if not path.exists():
        return 0
    with duckdb.connect(str(path), read_only=True) as conn:
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
        except duckdb.CatalogException:
            return 0


def destination_rows(cfg: SandboxConfig, dlt_dir: Path) -> dict[str, int]:
    """What each job's destination holds, read from the destination itself."""
    mongo = pymongo.MongoClient(cfg.mongo_uri, serverSelectionTimeoutMS=5000)
    try:
        work_orders = mongo.get_default_database()["workorders"].count_documents({})
    finally:
        mongo.close()
    warehouse_tables = _pg_count(
        cfg.postgres_url("warehouse"),
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'mes'",
    )
    warehouse = 0
    if warehouse_tables:
        warehouse = sum(
            _pg_count(cfg.postgres_url("warehouse"), f"SELECT count(*) FROM mes.{t}")
            for t in ("mara", "makt", "mvke", "production_orders")
        )
    offers_exist = _pg_count(
        cfg.postgres_url("aggregator"), "SELECT count(*) FROM pg_tables WHERE tablename = 'offers'"
    )
    return {
        "tracos-inbound": work_orders,
        "tracos-outbound": len(list(cfg.outbound_dir.glob("*.json"))),
        "glassdome": _pg_count(
            cfg.postgres_url("glassdome"),
            "SELECT count(*) FROM products WHERE company_id = 'company_1'",
        ),
        "mes-warehouse": warehouse,
        "customers": _duckdb_count(dlt_dir / "customers.duckdb", "customer_data.customers"),
        "offers": _pg_count(cfg.postgres_url("aggregator"), "SELECT count(*) FROM offers")
        if offers_exist
        else 0,
        "partner-feeds": _duckdb_count(
            dlt_dir / "partner_feeds.duckdb", "partner_catalog.catalog_products"
        ),
    }


@dataclass
class Sync:
    result: subprocess.CompletedProcess[str]
    report: dict[str, Any]  # the saved JSON
    held: dict[str, int]  # destination rows after the run

    def job(self, name: str) -> dict[str, Any]:
        return next(j for j in self.report["jobs"] if j["job"] == name)


@dataclass
class Syncs:
    before: dict[str, int]
    first: Sync
    second: Sync
    reports_dir: Path


@pytest.fixture(scope="module")
def syncs(own_sandbox: SandboxConfig, tmp_path_factory: pytest.TempPathFactory) -> Syncs:
    tmp = tmp_path_factory.mktemp("sync")
    env = {
        **os.environ,
        **own_sandbox.env,
        "MELTANO_ENVIRONMENT": "prod",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp / 'meltano.db'}",
        "DEAD_LETTER_DIR": str(tmp / "dead-letter"),
        "DLT_DATA_DIR": str(tmp / "dlt"),
        "PARTNER_FEEDS_DIR": str(own_sandbox.root / "data" / "partner_feeds"),
        "PARTNER_FEEDS_ARCHIVE_DIR": str(tmp / "archive"),
        "REPORTS_DIR": str(tmp / "reports"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    listed = run_meltano("job", "list", "--format=json", env=env)
    assert {job["job_name"] for job in json.loads(listed.stdout)["jobs"]} >= JOBS

    def sync() -> Sync:
        existing = set((tmp / "reports").glob("*.json"))
        result = subprocess.run(
            [sys.executable, "-m", "ops.sync"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        (saved,) = set((tmp / "reports").glob("*.json")) - existing
        return Sync(
            result, json.loads(saved.read_text()), destination_rows(own_sandbox, tmp / "dlt")
        )

    before = destination_rows(own_sandbox, tmp / "dlt")
    first = sync()
    # The offers stand-in churns its offers between calls on purpose; hold them still so a
    # second run has nothing new anywhere.
    requests.put(
        own_sandbox.http_url("offers") + "/_sandbox/settings", json={"churn": False}, timeout=5
    ).raise_for_status()
    second = sync()
    return Syncs(before, first, second, tmp / "reports")


def test_sync_prints_one_table_and_saves_it(syncs: Syncs) -> None:
    stderr = syncs.first.result.stderr
    table = stderr[stderr.rfind("sync report") :]
    assert re.search(
        r"^job\s+read\s+written \(ins/upd\)\s+unchanged\s+rejected\s+quarantined"
        r"\s+duration\s+records/s\s+status$",
        table,
        re.MULTILINE,
    ), table
    for job in JOBS:
        figures = syncs.first.job(job)
        row = re.search(rf"^{re.escape(job)}\s+(\d+)\s+(\d+) \((\d+)/(\d+)\).*\bok$", table, re.M)
        assert row, table
        assert [int(x) for x in row.groups()] == [
            figures["read"],
            figures["written"],
            figures["inserted"],
            figures["updated"],
        ]
    assert f"{len(JOBS)}/{len(JOBS)} jobs ok" in table
    # plugin lines are printed as the plugins wrote them: one timestamp, level and run id,
    # not wrapped again by meltano (logging.yaml), for Singer plugins and dlt pipelines alike
    summary_lines = [line for line in stderr.splitlines() if " summary {" in line]
    assert len(summary_lines) >= 3 * len(JOBS)
    stamped = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO \S+ run_id=(\w+) summary \{")
    for line in summary_lines:
        match = stamped.fullmatch(line[: line.index("{") + 1])
        assert match, line
        assert match.group(1) == syncs.first.report["run_id"], line
    # one run id ties every job's log lines together, and names the report
    run_ids = set(re.findall(r"run_id=(\w+) job (?:start|end)", stderr))
    assert run_ids == {syncs.first.report["run_id"]}


def test_first_report_equals_what_the_destinations_hold(syncs: Syncs) -> None:
    first, before = syncs.first, syncs.before
    for job in JOBS:
        figures = first.job(job)
        assert figures["status"] == "ok"
        assert figures["rejected"] == 0, figures
        # rows the job added are the rows its destination gained
        gained = first.held[job] - before[job]
        assert gained == figures["inserted"] - figures["deleted"], (job, figures, gained)
    assert first.job("tracos-inbound")["read"] == 10  # the ten seeded ERP files
    assert first.job("mes-warehouse")["inserted"] == first.held["mes-warehouse"] > 0
    assert first.job("glassdome")["written"] > 0


def test_second_report_shows_nothing_written(syncs: Syncs) -> None:
    second = syncs.second
    assert second.held == syncs.first.held  # the destinations did not change
    for job in JOBS - {"customers"}:
        figures = second.job(job)
        assert (figures["written"], figures["status"]) == (0, "ok"), figures
    # The customer API has no change feed: every run reads everything, and dlt's merge
    # rewrites each customer it holds (reported as updated, none new).
    customers = second.job("customers")
    assert customers["inserted"] == 0
    assert customers["updated"] == customers["read"] == second.held["customers"]


def test_report_page_has_a_chart_per_job(syncs: Syncs) -> None:
    assert report.main(["--reports-dir", str(syncs.reports_dir)]) == 0
    page = (syncs.reports_dir / "index.html").read_text()
    assert "2 runs" in page
    for job in JOBS:
        assert f"alt='records/s of {job} per run'" in page
    assert page.count("src='data:image/png;base64,") == len(JOBS)


def test_first_lines_name_the_environment_and_connections(
    syncs: Syncs, own_sandbox: SandboxConfig
) -> None:
    stderr = syncs.first.result.stderr
    first = stderr.splitlines()[:12]
    assert "sync start environment=prod" in first[0], first
    mongo = own_sandbox.mongo_uri
    assert any(f"variable=MONGO_URI to={mongo} source=exported" in line for line in first), first
    assert any("variable=GLASSDOME_API_KEY to=(secret)" in line for line in first), first
    assert own_sandbox.env["GLASSDOME_API_KEY"] not in stderr
