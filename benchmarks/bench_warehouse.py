"""MES production orders -> warehouse, side by side on the same generated data.

1. this project: `meltano run mes-warehouse` (tap-mes bulk mode -> target-postgres);
2. MeltanoLabs tap-postgres | target-postgres, from PyPI in throwaway venvs (benchmarks/.peers);
3. raw `COPY (SELECT ...) TO STDOUT` -> `COPY ... FROM STDIN` between the two databases.

Peak RSS of tap and target (psutil sampling of the child processes) at each size.
Usage: python benchmarks/bench_warehouse.py [--rows 1000000] [--small 100000] [--peer-rows 100000]
The machine is shared: figures are noisy, run it twice before believing a difference.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg2

import sandbox
from sandbox import mes
from sandbox.settings import PROJECT_ROOT, SandboxConfig

VENV_BIN = Path(sys.executable).parent
VERBOSE = bool(os.environ.get("BENCH_VERBOSE"))
PEERS = PROJECT_ROOT / "benchmarks" / ".peers"
COLUMNS = (
    "order_id, material_number, sku, status, quantity, plant, created_at, updated_at, deleted_at"
)
TABLE_DDL = """CREATE TABLE {name} (
    order_id bigint PRIMARY KEY, material_number text NOT NULL, sku text NOT NULL,
    status text NOT NULL, quantity numeric(13, 3) NOT NULL, plant text NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, deleted_at timestamptz)"""


@dataclass
class Run:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


class RssSampler:
    """Peak RSS per role among a process tree, sampled every 50 ms."""

    def __init__(self, root_pid: int, roles: dict[str, str]) -> None:
        self.root_pid, self.roles = root_pid, roles
        self.peak: dict[str, float] = dict.fromkeys(roles, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.root_pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                procs = []
            for proc in procs:
                try:
                    cmd = " ".join(proc.cmdline())
                    rss = proc.memory_info().rss / 2**20
                except psutil.Error:
                    continue
                for role, needle in self.roles.items():
                    if needle in cmd:
                        self.peak[role] = max(self.peak[role], rss)
            time.sleep(0.05)


def sql(url: str, statement: str) -> list[tuple]:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def count(url: str, table: str) -> int:
    return int(sql(url, f"SELECT count(*) FROM {table}")[0][0])


def run_ours(cfg: SandboxConfig, state_dir: Path) -> Run:
    warehouse = cfg.postgres_url("warehouse")
    sql(warehouse, "DROP SCHEMA IF EXISTS mes CASCADE")
    env = {
        **os.environ,
        **cfg.env,
        "MELTANO_ENVIRONMENT": "prod",
        "MELTANO_DATABASE_URI": f"sqlite:///{state_dir / 'meltano.db'}",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DEAD_LETTER_DIR": str(state_dir / "dead-letter"),
        # as `make` runs it: bytecode cached (this machine sets PYTHONDONTWRITEBYTECODE=1,
        # which costs every plugin start seconds of parsing)
        "PYTHONDONTWRITEBYTECODE": "",
        "TAP_MES_BULK_BATCH_CONFIG_STORAGE_ROOT": str(state_dir / "batches"),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(VENV_BIN / "meltano"), "run", "--full-refresh", "mes-warehouse"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    with RssSampler(proc.pid, {"tap": "bin/tap-mes", "target": "bin/target-postgres"}) as rss:
        output, _ = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"meltano run mes-warehouse failed:\n{output[-3000:]}")
    if VERBOSE:
        print(
            "\n".join(
                line[:170] for line in output.splitlines() if "meltano " in line or "event=" in line
            )
        )
    rows = count(warehouse, "mes.production_orders")
    others = sum(count(warehouse, f"mes.{t}") for t in ("mara", "makt", "mvke"))
    return Run(
        f"ours: meltano run mes-warehouse (+{others:,} mara/makt/mvke rows)",
        rows,
        seconds,
        rss.peak,
    )


def _peer_catalog(tap_config: Path, work: Path) -> Path:
    discovered = subprocess.run(
        [str(PEERS / "tap" / "bin" / "tap-postgres"), "--config", str(tap_config), "--discover"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    catalog = json.loads(discovered)
    for stream in catalog["streams"]:
        chosen = stream["tap_stream_id"].endswith("production_orders")
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = chosen
                entry["metadata"]["replication-method"] = "FULL_TABLE"
    path = work / "peer-catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def run_peer(cfg: SandboxConfig, work: Path, source_db: str = "mes") -> Run:
    port = cfg.port("postgres")
    sql(cfg.postgres_url("warehouse"), "DROP SCHEMA IF EXISTS peer CASCADE")
    tap_config = work / "peer-tap.json"
    tap_config.write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "port": port,
                "user": "postgres",
                "password": "unused",
                "database": "mes",
                "filter_schemas": ["public"],
            }
        )
    )
    target_config = work / "peer-target.json"
    target_config.write_text(
        json.dumps(
            {
                "host": "127.0.0.1",
                "port": port,
                "user": "postgres",
                "password": "unused",
                "database": "warehouse",
                "default_target_schema": "peer",
            }
        )
    )
    catalog = _peer_catalog(tap_config, work)
    started = time.perf_counter()
    pipeline = (
        f"{PEERS / 'tap' / 'bin' / 'tap-postgres'} --config {tap_config} --catalog {catalog}"
        f" | {PEERS / 'target' / 'bin' / 'target-postgres'} --config {target_config} > /dev/null"
    )
    proc = subprocess.Popen(
        ["bash", "-o", "pipefail", "-c", pipeline], stderr=subprocess.PIPE, text=True
    )
    with RssSampler(proc.pid, {"tap": "bin/tap-postgres", "target": "bin/target-postgres"}) as rss:
        _, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"peer pipeline failed:\n{err[-3000:]}")
    rows = count(cfg.postgres_url("warehouse"), "peer.production_orders")
    return Run("MeltanoLabs tap-postgres | target-postgres", rows, seconds, rss.peak)


def run_raw(cfg: SandboxConfig) -> Run:
    warehouse = cfg.postgres_url("warehouse")
    sql(warehouse, "DROP TABLE IF EXISTS public.raw_production_orders")
    sql(warehouse, TABLE_DDL.format(name="public.raw_production_orders"))
    source = psycopg2.connect(cfg.postgres_url("mes"))
    dest = psycopg2.connect(warehouse)
    read_fd, write_fd = os.pipe()

    def produce() -> None:
        with os.fdopen(write_fd, "wb", buffering=1 << 20) as sink, source.cursor() as cur:
            cur.copy_expert(f"COPY (SELECT {COLUMNS} FROM production_orders) TO STDOUT", sink)

    started = time.perf_counter()
    thread = threading.Thread(target=produce)
    thread.start()
    with os.fdopen(read_fd, "rb", buffering=1 << 20) as stream, dest.cursor() as cur:
        cur.copy_expert("COPY public.raw_production_orders FROM STDIN", stream, size=1 << 20)
    thread.join()
    dest.commit()
    seconds = time.perf_counter() - started
    source.close()
    dest.close()
    return Run(
        "raw COPY TO STDOUT | COPY FROM STDIN",
        count(warehouse, "public.raw_production_orders"),
        seconds,
    )


def same_rows(cfg: SandboxConfig, table: str) -> bool:
    query = (
        f"SELECT count(*), md5(string_agg(row({COLUMNS})::text, '|' ORDER BY order_id)) FROM {{}}"
    )
    mes_side = sql(
        cfg.postgres_url("mes"), "SET TIME ZONE 'UTC'; " + query.format("production_orders")
    )
    warehouse_side = sql(
        cfg.postgres_url("warehouse"), "SET TIME ZONE 'UTC'; " + query.format(table)
    )
    return mes_side == warehouse_side


def report(size: int, runs: list[Run]) -> None:
    print(f"\n== {size:,} production orders")
    print(f"{'run':60} {'rows':>9} {'seconds':>8} {'rows/s':>9}  peak RSS MB (tap / target)")
    for run in runs:
        rss = (
            " / ".join(f"{run.peak_rss_mb.get(k, 0):.0f}" for k in ("tap", "target"))
            if run.peak_rss_mb
            else "-"
        )
        print(f"{run.name:60} {run.rows:>9,} {run.seconds:>8.2f} {run.rate:>9,.0f}  {rss}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument(
        "--peer-rows", type=int, default=100_000, help="run the peer at this size only"
    )
    args = parser.parse_args()
    if not (PEERS / "tap" / "bin" / "tap-postgres").exists():
        raise SystemExit(
            "peers missing: uv venv benchmarks/.peers/tap && uv pip install --python "
            "benchmarks/.peers/tap/bin/python meltanolabs-tap-postgres; same for target "
            "(benchmarks/.peers/target, meltanolabs-target-postgres)"
        )
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-", dir="/tmp") as tmp:
        work = Path(tmp)
        os.chmod(work, 0o755)
        cfg = SandboxConfig.ephemeral(work / "sandbox")
        sandbox.up(cfg)
        results: dict[int, list[Run]] = {}
        try:
            generated = 0
            for size in sorted({args.small, args.rows}):
                # few materials: the job also copies mara/mvke/makt, kept small so the
                # figure is about production orders (their rows are reported too)
                mes.generate(cfg.postgres_url("mes"), size - generated, materials=1_000)
                generated = size
                sql(cfg.postgres_url("mes"), "VACUUM ANALYZE production_orders")
                total = count(cfg.postgres_url("mes"), "production_orders")
                runs = [run_ours(cfg, work)]
                if not same_rows(cfg, "mes.production_orders"):
                    raise SystemExit("ours: warehouse table differs from the source")
                if size == args.peer_rows:
                    runs.append(run_peer(cfg, work))
                runs.append(run_raw(cfg))
                results[total] = runs
                report(total, runs)
        finally:
            sandbox.down(cfg)
    print("\n== goals")
    big = results[max(results)]
    ours, raw = big[0], big[-1]
    print(f"ours at {ours.rows:,}: {ours.rate:,.0f} rows/s (goal >= 150,000)")
    print(f"ours / raw COPY: {ours.rate / raw.rate:.2f}x (goal >= 0.25x)")
    peer_runs = [
        (n, r) for n, runs in results.items() for r in runs if r.name.startswith("MeltanoLabs")
    ]
    for n, peer in peer_runs:
        mine = results[n][0]
        print(
            f"ours / MeltanoLabs at {n:,}: {mine.rate / peer.rate:.1f}x (goal >= 15x)"
            + (
                ""
                if n == max(results)
                else f"; peer extrapolated to {max(results):,}: "
                f"{max(results) / peer.rate:.0f} s, ours measured {ours.seconds:.1f} s "
                f"-> {max(results) / peer.rate / ours.seconds:.1f}x"
            )
        )
    small, large = results[min(results)][0], ours
    for role in ("tap", "target"):
        ratio = (
            large.peak_rss_mb[role] / small.peak_rss_mb[role] if small.peak_rss_mb.get(role) else 0
        )
        print(
            f"peak RSS {role}: {small.peak_rss_mb.get(role, 0):.0f} MB at {small.rows:,} -> "
            f"{large.peak_rss_mb.get(role, 0):.0f} MB at {large.rows:,}"
            f" ({ratio:.2f}x, goal <= 1.3x)"
        )


if __name__ == "__main__":
    main()
