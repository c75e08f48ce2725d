"""100k customers through the customer API stand-in into DuckDB (parquet), against a bare client.

The bare client fetches the same pages with one keep-alive requests session and decodes the
JSON: the ceiling for a sequential paginated read. The pipeline does that plus normalizing,
writing parquet and merging into DuckDB. Goal: pipeline rows/s >= 0.7 x bare rows/s.

    .venv/bin/python benchmarks/bench_customers.py [--customers 100000]
"""

from __future__ import annotations

import argparse
import logging
import os
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

        bare_client(base_url)  # warm-up: server caches, connections
        started = time.perf_counter()
        bare_rows = bare_client(base_url)
        bare_s = time.perf_counter() - started

        db = work / "customers.duckdb"
        timings = []
        for label in ("first run (create)", "rerun (merge over 100k)"):
            started = time.perf_counter()
            run(
                base_url=base_url,
                destination="duckdb",
                credentials=db,
                pipelines_dir_=work / "pipelines",
            )
            timings.append((label, time.perf_counter() - started))
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            landed = con.sql("SELECT count(*) FROM customer_data.customers").fetchall()[0][0]
    finally:
        processes.terminate(pid)

    bare_rate = bare_rows / bare_s
    print(f"customers: {args.customers}, pages of {PAGE_SIZE}, rows landed: {landed}")
    print(f"bare requests client     : {bare_s:6.2f}s  {bare_rate:9,.0f} rows/s")
    for label, seconds in timings:
        rate = args.customers / seconds
        ratio = rate / bare_rate
        print(f"dlt -> duckdb {label:25}: {seconds:6.2f}s  {rate:9,.0f} rows/s  ratio {ratio:4.2f}")
    return 0 if landed == args.customers else 1


if __name__ == "__main__":
    sys.exit(main())
