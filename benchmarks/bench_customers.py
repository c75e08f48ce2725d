"""100k customers through the customer API stand-in into DuckDB (parquet), against a bare client.

The bare client fetches the same pages with one requests session and decodes the JSON: a
sequential paginated read. The pipeline does that (by default over 4 page ranges at once, and
once sequentially for comparison) plus typing the rows, writing parquet and upserting into
DuckDB. Goal: pipeline rows/s >= 0.7 x bare rows/s.

    .venv/bin/python benchmarks/bench_customers.py [--customers 100000]
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import processes
from sandbox.settings import HOST, free_port

PAGE_SIZE = 100


def bare_client(base_url: str) -> int:
    rows, page, pages = 0, 1, 1
    with requests.Session() as session:
        while page <= pages:
            body = session.get(
                f"{base_url}/api/customers", params={"page": page, "limit": PAGE_SIZE}, timeout=60
            ).json()
            rows += len(body["data"])
            pages = body["total_pages"]
            page += 1
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-customers-"))
    os.environ["DLT_DATA_DIR"] = str(work / "dlt")
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    pid = processes.spawn(
        [
            sys.executable,
            "-m",
            "sandbox.customers.app",
            "--port",
            str(port),
            "--customers",
            str(args.customers),
        ],
        work / "customers.pid",
        work / "customers.log",
    )
    try:
        processes.wait_until(
            lambda: processes.port_open(HOST, port),
            60,
            "customers stand-in",
            work / "customers.log",
        )
        from pipelines.customers.pipeline import run

        db = work / "customers.duckdb"

        def pipeline(stripes: int) -> int:
            run(
                base_url=base_url,
                destination="duckdb",
                credentials=db,
                pipelines_dir_=work / "pipelines",
                page_stripes=stripes,
            )
            return args.customers

        bare_client(base_url)  # warm-up: server and client code paths
        started = time.perf_counter()
        pipeline(4)
        first_run_s = time.perf_counter() - started
        # The machine is shared: measure in interleaved rounds and take medians.
        seconds: dict[str, list[float]] = {
            "bare": [],
            "dlt, 4 page ranges": [],
            "dlt, sequential": [],
        }
        for _ in range(args.rounds):
            for label, job in (
                ("bare", lambda: bare_client(base_url)),
                ("dlt, 4 page ranges", lambda: pipeline(4)),
                ("dlt, sequential", lambda: pipeline(1)),
            ):
                started = time.perf_counter()
                rows = job()
                assert rows == args.customers, rows
                seconds[label].append(time.perf_counter() - started)
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            landed = con.sql("SELECT count(*) FROM customer_data.customers").fetchall()[0][0]
    finally:
        processes.terminate(pid)
        shutil.rmtree(work, ignore_errors=True)

    bare_rate = args.customers / statistics.median(seconds["bare"])
    print(f"customers: {args.customers}, pages of {PAGE_SIZE}, rows landed: {landed}")
    print(f"median of {args.rounds} interleaved rounds (load average {os.getloadavg()[0]:.1f})")
    print(f"dlt first run (creates the table), 4 ranges: {first_run_s:6.2f}s")
    for label, values in seconds.items():
        median = statistics.median(values)
        rate = args.customers / median
        runs = " ".join(f"{v:.2f}" for v in values)
        print(
            f"{label:20} {median:6.2f}s  {rate:9,.0f} rows/s  ratio {rate / bare_rate:4.2f}"
            f"  (runs: {runs})"
        )
    return 0 if landed == args.customers else 1


if __name__ == "__main__":
    sys.exit(main())
