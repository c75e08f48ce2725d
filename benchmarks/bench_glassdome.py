"""MES -> Glassdome benchmark: 100k products through `meltano run`, a bare client, a no-op run.

Prints:
- full sync through `meltano run tap-mes target-glassdome`: wall time and products/s;
- a bare requests client posting the same 200-record batches with the same concurrency
  straight to the same API (no Singer, no meltano): products/s, and the ratio (goal >= 0.8);
- the no-op incremental run's wall time (goal < 2.5 s), with the configured lookback and
  with none.

Fairness: both sides read the MES database (the bare client runs the same latest-row query
inside its timing) and send the same 200-record batches (the same products in the same
order, by updated_at, as tap-mes emits them) on 4 connections, as target-glassdome is
configured in meltano.yml. Order matters to Glassdome: key order inserts about 1.5x faster
(B-tree indexes); a reference line shows the bare client in key order. The meltano wall
also pays meltano's own start (about 1.9 s: import, project and settings) and the plugins'
(about 0.5 s) that the already-running bare client does not; the steady-state line (the
target's own records/s, from its first SCHEMA to its end) shows the ratio without them.

Run: `.venv/bin/python benchmarks/bench_glassdome.py [products]` (an ephemeral sandbox).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg2
import requests
import yaml
from requests.adapters import HTTPAdapter

import sandbox
from sandbox import mes
from sandbox.glassdome.app import init_db
from sandbox.settings import PROJECT_ROOT, SandboxConfig

API_KEY = "pat_cp1_xoxo"
BATCH, CONCURRENCY = 200, 4
VENV_BIN = Path(sys.executable).parent
TRANSLATION = PROJECT_ROOT / "mappers/map-mes-glassdome/map_mes_glassdome/translation.yaml"


def meltano(env: dict[str, str], *blocks: str) -> tuple[float, float]:
    """Wall time of one `meltano run`, and the target's own records/s from its summary."""
    started = time.perf_counter()
    result = subprocess.run(
        [str(VENV_BIN / "meltano"), "run", *blocks],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    summary = [line for line in result.stderr.splitlines() if "summary stream=" in line]
    if result.returncode != 0:
        print(result.stderr[-4000:])
        raise SystemExit(f"meltano run failed: {result.returncode}")
    print("   ", summary[-1].split("summary ", 1)[1] if summary else "(no summary)")
    if os.environ.get("BENCH_VERBOSE"):
        print(result.stderr)
    rate = float(summary[-1].rsplit("records_per_s=", 1)[1].split()[0]) if summary else 0.0
    return elapsed, rate


def products(mes_url: str, order: str = "updated_at, m") -> list[dict[str, str]]:
    """The translated products, read the way the bare client would (one query).

    By default in the order tap-mes sends them (by updated_at): the same batches. The order
    alone changes Glassdome's insert cost (about 1.5x between key order and this one, its
    B-tree indexes), so `order="m"` shows the bare client at its best, for reference.
    """
    statuses = yaml.safe_load(TRANSLATION.read_text())["statuses"]
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT m, sku, status FROM (SELECT DISTINCT ON (m) m, sku, status, updated_at FROM ("
            " SELECT material_number AS m, sku, status, updated_at FROM production_orders"
            " WHERE deleted_at IS NULL"
            " UNION ALL SELECT matnr, sku, status, updated_at FROM mvke WHERE deleted_at IS NULL)"
            f" AS live ORDER BY m, updated_at DESC) AS latest ORDER BY {order}"
        )
        rows = cur.fetchall()
    conn.close()
    return [
        {"id": m, "sku": sku.strip().upper(), "status": statuses[status.strip().lower()]}
        for m, sku, status in rows
    ]


def bare_client(api_url: str, mes_url: str, order: str = "updated_at, m") -> tuple[float, int]:
    """POST new products / PATCH MAT-1001 in 200-record batches, CONCURRENCY at once."""
    started = time.perf_counter()
    items = products(mes_url, order)
    session = requests.Session()
    session.headers["X-API-Key"] = API_KEY
    session.mount("http://", HTTPAdapter(pool_maxsize=CONCURRENCY))
    new = [p for p in items if p["id"] != "MAT-1001"]
    changed = [p for p in items if p["id"] == "MAT-1001"]

    def send(method: str, batch: list[dict[str, str]]) -> None:
        path = "/ingest/products" if method == "POST" else "/products"
        session.request(method, api_url + path, json=batch, timeout=60).raise_for_status()

    batches = [new[i : i + BATCH] for i in range(0, len(new), BATCH)]
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        send("PATCH", changed)
        list(pool.map(lambda batch: send("POST", batch), batches))
    return time.perf_counter() - started, len(items)


def reset_glassdome(cfg: SandboxConfig) -> None:
    url = cfg.postgres_url("glassdome")
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("TRUNCATE products")
    conn.close()
    init_db(url)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    root = Path(tempfile.mkdtemp(prefix="bench-glassdome-"))
    cfg = SandboxConfig.ephemeral(root)
    sandbox.up(cfg)
    try:
        mes_url = cfg.postgres_url("mes")
        mes.generate(mes_url, count, count)
        expected = count + 8
        env = {
            **os.environ,
            **cfg.env,
            "GLASSDOME_API_KEY": API_KEY,
            "MELTANO_ENVIRONMENT": "prod",
            "MELTANO_DATABASE_URI": f"sqlite:///{root / 'meltano.db'}",
            "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DEAD_LETTER_DIR": str(root / "dead-letter"),
            # as `make` runs it: bytecode cached (this machine sets PYTHONDONTWRITEBYTECODE=1)
            "PYTHONDONTWRITEBYTECODE": "",
            "TAP_MES_BATCH_CONFIG_STORAGE_ROOT": str(root / "batches"),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        print(f"== {count:,} generated materials, {expected:,} products")
        print(f"   batch {BATCH}, concurrency {CONCURRENCY}, load {os.getloadavg()[0]:.1f}")

        print("full sync: meltano run tap-mes target-glassdome")
        full, steady_rate = meltano(env, "tap-mes", "target-glassdome")
        meltano_rate = expected / full
        print(f"    wall {full:.1f} s  ->  {meltano_rate:,.0f} products/s")

        print("no-op incremental: meltano run tap-mes target-glassdome (lookback 300 s)")
        noop, _ = meltano(env, "tap-mes", "target-glassdome")
        print(f"    wall {noop:.2f} s")
        print("no-op incremental, TAP_MES_LOOKBACK_SECONDS=0")
        noop0, _ = meltano({**env, "TAP_MES_LOOKBACK_SECONDS": "0"}, "tap-mes", "target-glassdome")
        print(f"    wall {noop0:.2f} s")

        reset_glassdome(cfg)
        print("full sync through the mapper plugin: meltano run glassdome (fresh state)")
        job_env = {**env, "MELTANO_DATABASE_URI": f"sqlite:///{root / 'meltano-job.db'}"}
        job, _ = meltano(job_env, "glassdome")
        print(f"    wall {job:.1f} s  ->  {expected / job:,.0f} products/s")

        reset_glassdome(cfg)
        print("bare client: same batches, same concurrency, straight to the API")
        bare, sent = bare_client(cfg.http_url("glassdome"), mes_url)
        bare_rate = sent / bare
        print(f"    wall {bare:.1f} s  ->  {bare_rate:,.0f} products/s")
        print(f"ratio meltano / bare: {meltano_rate / bare_rate:.2f} (goal >= 0.8)")
        reset_glassdome(cfg)
        keyed, _ = bare_client(cfg.http_url("glassdome"), mes_url, order="m")
        print(
            f"bare client in key order (reference, not the same batches): wall {keyed:.1f} s"
            f"  ->  {sent / keyed:,.0f} products/s"
        )
        print(
            f"steady state (target's own rate, no interpreter starts): {steady_rate:,.0f}"
            f" products/s, ratio {steady_rate / bare_rate:.2f}"
        )
        print(
            f"no-op incremental: {noop:.2f} s (lookback 300 s), {noop0:.2f} s (none); goal < 2.5 s"
        )
    finally:
        sandbox.down(cfg)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
