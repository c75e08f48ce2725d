"""Glassdome area fixtures: a private MES database and a private Glassdome API per test.

The session sandbox's Postgres server hosts them (fresh databases), so tests never see each
other's rows, and other areas' tests never see ours.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
from connector_kit.logs import parse_summary

from sandbox import mes
from sandbox.settings import PROJECT_ROOT, SandboxConfig, free_port
from tests.conftest import run_meltano

API_KEY = "pat_cp1_xoxo"
STATUS_TABLE = {  # the expected translation, written independently of the mapper's YAML
    "active": "ACTIVE",
    "released": "ACTIVE",
    "inactive": "INACTIVE",
    "blocked": "INACTIVE",
    "discontinued": "DISCONTINUED",
}
SEED_PRODUCTS = {
    "MAT-1001": ("SKU-ALPHA-NEW", "ACTIVE"),
    "MAT-1002": ("SKU-BETA", "INACTIVE"),
    "MAT-1003": ("SKU-GAMMA", "ACTIVE"),
    "MAT-1004": ("SKU-DELTA", "INACTIVE"),
    "MAT-1005": ("SKU-EPSILON", "ACTIVE"),
    "MAT-1006": ("SKU-ZETA", "DISCONTINUED"),
    "MAT-1007": ("SKU-ETA", "ACTIVE"),
    "MAT-1008": ("SKU-THETA", "INACTIVE"),
}


def create_database(cfg: SandboxConfig, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = psycopg2.connect(cfg.postgres_url("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return cfg.postgres_url(name)


def drop_database(cfg: SandboxConfig, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = psycopg2.connect(cfg.postgres_url("postgres"))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@dataclass
class GlassdomeApi:
    """A private Glassdome stand-in: its URL, its database and a few test conveniences."""

    url: str
    database_url: str
    process: subprocess.Popen[bytes]

    def faults(self, **faults: Any) -> None:
        requests.put(f"{self.url}/_sandbox/faults", json=faults, timeout=5).raise_for_status()

    def products(self) -> dict[str, tuple[str, str]]:
        with psycopg2.connect(self.database_url) as conn, conn.cursor() as cur:
            cur.execute(
                "SELECT external_id, sku, status FROM products WHERE company_id = 'company_1'"
            )
            rows = cur.fetchall()
        conn.close()
        return {external_id: (sku, status) for external_id, sku, status in rows}

    def rows(self) -> list[tuple[Any, ...]]:
        """(external_id, create_time, update_time) of every product, to see what moved."""
        with psycopg2.connect(self.database_url) as conn, conn.cursor() as cur:
            cur.execute("SELECT external_id, create_time, update_time FROM products ORDER BY 1")
            rows = cur.fetchall()
        conn.close()
        return rows

    def insert(self, products: list[dict[str, str]]) -> None:
        response = requests.post(
            f"{self.url}/ingest/products", json=products, headers={"X-API-Key": API_KEY}, timeout=10
        )
        response.raise_for_status()


@pytest.fixture
def mes_url(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    url = create_database(sandbox_cfg, "mes_gd")
    mes.create_schema(url)
    yield url
    drop_database(sandbox_cfg, url)


@pytest.fixture
def glassdome(sandbox_cfg: SandboxConfig, tmp_path: Path) -> Iterator[GlassdomeApi]:
    database_url = create_database(sandbox_cfg, "glassdome_gd")
    port = free_port()
    log = (tmp_path / "glassdome.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox.glassdome.app",
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--seed",
            "7",
        ],
        cwd=PROJECT_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(
                f"glassdome stand-in did not start: {(tmp_path / 'glassdome.log').read_text()}"
            )
        time.sleep(0.1)
    yield GlassdomeApi(url, database_url, process)
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:  # a busy machine; the server holds no state we need
        process.kill()
        process.wait(10)
    log.close()
    drop_database(sandbox_cfg, database_url)


@pytest.fixture
def flow_env(
    meltano_env: dict[str, str], mes_url: str, glassdome: GlassdomeApi, tmp_path: Path
) -> dict[str, str]:
    """meltano (prod environment) pointed at this test's MES database and Glassdome API."""
    return {
        **meltano_env,
        "MES_DATABASE_URL": mes_url,
        "GLASSDOME_API_URL": glassdome.url,
        "GLASSDOME_API_KEY": API_KEY,
        "DEAD_LETTER_DIR": str(tmp_path / "dead-letter"),
        "TAP_MES_BATCH_CONFIG_STORAGE_ROOT": str(tmp_path / "batches"),
        "TARGET_GLASSDOME_RETRY_ATTEMPTS": "12",
    }


@dataclass
class Run:
    returncode: int
    output: str

    def summary(self) -> dict[str, str]:
        """The target's summary line for the products stream, as a dict."""
        found = [
            fields
            for line in self.output.splitlines()
            if (fields := parse_summary(line)) and fields.get("stream") == "products"
        ]
        assert found, self.output[-3000:]
        return {key: str(value) for key, value in found[-1].items()}


def meltano_run(*args: str, env: dict[str, str], timeout: float = 300) -> Run:
    result = run_meltano("run", *args, env=env, timeout=timeout)
    output = result.stdout + result.stderr
    assert API_KEY not in output, "the API key leaked into the logs"
    return Run(result.returncode, output)


def expected_products(mes_url: str) -> dict[str, tuple[str, str]]:
    """What Glassdome must hold: the seed cases plus every generated material.

    The generator gives each material one sku and one status spelling across its rows, so
    the expectation for generated materials needs no latest-wins reasoning of its own.
    Materials that tests edited carry their edits in production_orders with a later time.
    """
    expected = {"MAT-1001": SEED_PRODUCTS["MAT-1001"], **SEED_PRODUCTS}
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT ON (matnr) matnr, sku, status FROM ("
            " SELECT material_number AS matnr, sku, status, updated_at FROM production_orders"
            "  WHERE deleted_at IS NULL AND material_number LIKE 'GEN-%%'"
            " UNION ALL SELECT matnr, sku, status, updated_at FROM mvke"
            "  WHERE deleted_at IS NULL AND matnr LIKE 'GEN-%%') AS live"
            " ORDER BY matnr, updated_at DESC"
        )
        rows = cur.fetchall()
    conn.close()
    for matnr, sku, status in rows:
        mapped = STATUS_TABLE.get(status.strip().lower())
        if mapped is not None:
            expected[matnr] = (sku.strip().upper(), mapped)
    return expected


def future(seconds: int = 0) -> dt.datetime:
    """A time after every generated row (the generator spreads updates up to a day ahead)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=2, seconds=seconds)


def dead_letters(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["DEAD_LETTER_DIR"]) / "glassdome.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def dumped_config(plugin: str, env: dict[str, str], path: Path, *, batches: bool = False) -> Path:
    """The plugin's config as meltano resolves it, written to a file for standalone use
    (without `batch_config` the tap sends one RECORD per product)."""
    result = run_meltano("invoke", "--dump=config", plugin, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    config = json.loads(result.stdout[result.stdout.index("{") :])
    if not batches:
        config.pop("batch_config", None)
    path.write_text(json.dumps(config))
    return path
