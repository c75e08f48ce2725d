"""Peak memory (RSS) of reading inbound files as they grow 1x, 10x, 100x: it must stay flat.

- tap-client-json over one ERP JSON array file (the real CLI, records to /dev/null), from a
  local folder (`tap`) and from an `s3://` bucket on a local moto S3 server (`tap-s3`, the
  server in a process of its own);
- the partner feeds reading alone (FeedReader: both passes, validation; no dlt), CSV and JSON;
- the partner feeds pipeline over one CSV feed and one JSON feed (the whole run into DuckDB:
  DuckDB's own merge buffers come on top, capped by its `memory_limit`, e.g.
  `DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG='{"memory_limit": "128MB"}'`).

Each measurement runs in its own process; its peak RSS comes from the kernel (wait4's
ru_maxrss), so nothing of one run inflates the next.

    .venv/bin/python benchmarks/bench_file_memory.py [--factors 1,10,100]
        [--only tap,tap-s3,csv-read,json-read,csv,json]

Base sizes (1x): 1,600 work orders (~0.5 MB) and 10,000 feed rows (~0.5 MB); 100x is the
issue's case: a ~53 MB JSON array, a 1M-row CSV (~50 MB).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
BASE_ORDERS = 1_600
BASE_ROWS = 10_000


def write_orders(path: Path, count: int) -> None:
    with path.open("w") as fh:
        fh.write("[")
        for n in range(count):
            order = {
                "orderNo": n,
                "isActive": False,
                "isCanceled": False,
                "isDeleted": False,
                "isDone": False,
                "isOnHold": False,
                "isPending": True,
                "isSynced": False,
                "summary": f"Work order {n}: inspect pump bearings",
                "creationDate": "2025-02-01T08:00:00Z",
                "lastUpdateDate": "2025-02-01T09:00:00-03:00",
                "deletedDate": None,
            }
            fh.write(("," if n else "") + json.dumps(order))
        fh.write("]")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w") as fh:
        fh.write("sku,name,price,stock,description\n")
        fh.writelines(
            f"SKU-{i:07d},Item {i},{i % 9999}.99,{i % 500},Desc {i}\n" for i in range(rows)
        )


def write_json_feed(path: Path, rows: int) -> None:
    with path.open("w") as fh:
        fh.write("[")
        for i in range(rows):
            row = {"sku": f"SKU-{i:07d}", "name": f"Item {i}", "price": f"{i % 9999}.99"}
            fh.write(("," if i else "") + json.dumps({**row, "stock": i % 500}))
        fh.write("]")


def measure(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one child process."""
    started = time.perf_counter()
    with open(os.devnull, "w") as null:
        child = subprocess.Popen(command, env=env, stdout=null, stderr=subprocess.PIPE)
        assert child.stderr is not None
        errors = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"{command[0]} failed:\n{errors.decode()[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def bench_tap(tmp: Path, factor: int) -> tuple[str, float, float, float]:
    inbound = tmp / f"tap-{factor}" / "inbound"
    inbound.mkdir(parents=True)
    write_orders(inbound / "dump.json", BASE_ORDERS * factor)
    size = (inbound / "dump.json").stat().st_size / 1e6
    config = tmp / f"tap-{factor}.json"
    config.write_text(json.dumps({"inbound_dir": str(inbound), "settle_seconds": 0}))
    seconds, rss = measure(
        [str(BIN / "tap-client-json"), "--config", str(config)],
        {**os.environ, "LOG_LEVEL": "WARNING"},
    )
    return f"{BASE_ORDERS * factor:,} orders", size, seconds, rss


def bench_tap_s3(tmp: Path, factor: int) -> tuple[str, float, float, float]:
    """The server and the upload run in processes of their own: a child's peak RSS counts the
    process it was forked from, so this one stays as small as for the local `tap`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        }
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        local = tmp / f"tap-s3-{factor}.json"
        write_orders(local, BASE_ORDERS * factor)
        upload = (
            "import fsspec, sys; fs = fsspec.filesystem('s3'); fs.mkdir('bench');"
            "fs.put_file(sys.argv[1], 'bench/inbound/dump.json')"
        )
        subprocess.run([sys.executable, "-c", upload, str(local)], env=env, check=True)
        config = tmp / f"tap-s3-{factor}.config.json"
        config.write_text(json.dumps({"inbound_dir": "s3://bench/inbound", "settle_seconds": 0}))
        seconds, rss = measure(
            [str(BIN / "tap-client-json"), "--config", str(config)], {**env, "LOG_LEVEL": "WARNING"}
        )
        return f"{BASE_ORDERS * factor:,} orders", local.stat().st_size / 1e6, seconds, rss
    finally:
        server.terminate()
        server.wait()


def bench_feed(tmp: Path, factor: int, kind: str) -> tuple[str, float, float, float]:
    root = tmp / f"{kind}-{factor}"
    feed = root / "landing" / "acme2" / f"catalog.{kind}"
    feed.parent.mkdir(parents=True)
    (write_csv if kind == "csv" else write_json_feed)(feed, BASE_ROWS * factor)
    size = feed.stat().st_size / 1e6
    env = {
        **os.environ,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": "WARNING",
        "LOG_LEVEL": "WARNING",
        "PARTNER_FEEDS_DIR": str(root / "landing"),
        "PARTNER_FEEDS_ARCHIVE_DIR": str(root / "archive"),
        "PARTNER_FEEDS_DESTINATION": "duckdb",
        "PARTNER_FEEDS_DUCKDB_PATH": str(root / "catalog.duckdb"),
        "PARTNER_FEEDS_PIPELINES_DIR": str(root / "pipelines"),
        "PARTNER_FEEDS_SETTLE_SECONDS": "0",
    }
    seconds, rss = measure([sys.executable, "-m", "pipelines.partner_feeds"], env)
    return f"{BASE_ROWS * factor:,} rows", size, seconds, rss


def bench_read(tmp: Path, factor: int, kind: str) -> tuple[str, float, float, float]:
    """Only the feed reading: FeedReader.check() then rows() through validate(), no dlt."""
    fmt = kind.removesuffix("-read")
    feed = tmp / f"{kind}-{factor}" / f"catalog.{fmt}"
    feed.parent.mkdir(parents=True)
    (write_csv if fmt == "csv" else write_json_feed)(feed, BASE_ROWS * factor)
    seconds, rss = measure([sys.executable, __file__, "--read-only", str(feed)], dict(os.environ))
    return f"{BASE_ROWS * factor:,} rows", feed.stat().st_size / 1e6, seconds, rss


def read_only(path: Path) -> None:
    from pipelines.partner_feeds.feeds import Feed, FeedReader
    from pipelines.partner_feeds.registry import PartnerRegistry
    from pipelines.partner_feeds.validation import validate

    adapter = PartnerRegistry.load().adapter("bench")
    reader = FeedReader(Feed.from_path("bench", path), adapter)
    rows = reader.check()  # the whole-feed pass, then the rows pass: as the pipeline reads
    valid = sum(1 for row in reader.rows() if validate(row.fields, adapter))
    assert valid == rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--factors", default="1,10,100")
    parser.add_argument("--only", default="tap,tap-s3,csv-read,json-read,csv,json")
    parser.add_argument("--read-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read_only:
        read_only(args.read_only)
        return
    factors = [int(f) for f in args.factors.split(",")]
    kinds = args.only.split(",")
    os.chdir(ROOT)
    print(f"{'reader':<38} {'input':>16} {'MB':>7} {'seconds':>8} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory(prefix="bench-file-memory-") as tmp_name:
        tmp = Path(tmp_name)
        for kind in kinds:
            for factor in factors:
                if kind == "tap":
                    label = "tap-client-json (JSON array)"
                    what, size, seconds, rss = bench_tap(tmp, factor)
                elif kind == "tap-s3":
                    label = "tap-client-json, s3:// (JSON array)"
                    what, size, seconds, rss = bench_tap_s3(tmp, factor)
                elif kind.endswith("-read"):
                    label = f"partner feeds, {kind.removesuffix('-read').upper()} read+validate"
                    what, size, seconds, rss = bench_read(tmp, factor, kind)
                else:
                    label = f"partner feeds, {kind.upper()} feed -> DuckDB"
                    what, size, seconds, rss = bench_feed(tmp, factor, kind)
                print(
                    f"{label + f' {factor}x':<38} {what:>16} {size:7.1f} {seconds:8.1f} {rss:12.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
