"""Partner uploads through the service against the partner_feeds pipeline alone, in one run.

Issue 12's figures, on a real Postgres and the real service (`python -m service`, uvicorn):

1. One large CSV (--rows, 100k) uploaded with `POST /partner/ingest?async=0`, against the
   same bytes through `pipelines.partner_feeds.ingest_feed` in this process, with the service's
   own feed settings into the same Postgres (dataset `partner_catalog_direct`, its own dlt
   folder). --repeat rounds, the order alternating, a fresh partner each time (the ledger is
   by partner + sha256): rows/s of both (medians) and the ratio, goal >= 0.8. What the ratio
   leaves out is the service's part: HTTP, the raw bytes stored, the attempt bookkeeping.
2. --feeds small feeds (--feed-rows each, distinct bytes) uploaded with `async=1` by
   --clients concurrent keep-alive clients (one partner each), --workers queue workers
   (`python -m service.worker`) running: uploads/s of the upload phase, and the time from the
   first upload until `GET /partner/jobs` shows every one of them loaded.

    .venv/bin/python benchmarks/bench_partner_service.py [--rows 100000] [--repeat 3]
        [--feeds 200] [--feed-rows 50] [--clients 20] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from benchmarks.bench_service import service_env, start_service
from pipelines.dlt_project import use_project_dirs
from pipelines.partner_feeds import ingest_feed
from pipelines.partner_feeds.ledger import FeedStatus
from sandbox.servers import PostgresServer
from sandbox.settings import SERVICE_ADMIN_KEY, SandboxConfig
from service.partners.feeds import feeds_settings

DIRECT_DATASET = "partner_catalog_direct"
ADMIN = {"X-Admin-Key": SERVICE_ADMIN_KEY}
HEADER = "sku,name,price,stock,currency,description,updated_at\n"


def catalog_csv(rows: int, tag: str) -> bytes:
    """A feed in the default partner format (the contract's columns); `tag` makes it distinct."""
    lines = [HEADER] + [
        f"{tag}-{i:07d},Product {tag} {i},{(i % 250_000) / 100 + 1:.2f},{i % 500},EUR,"
        f"Description of product {i},2025-03-01T08:30:00Z\n"
        for i in range(rows)
    ]
    return "".join(lines).encode()


def onboard(url: str, partner: str) -> str:
    """A new partner; its API key (shown this once)."""
    response = requests.post(
        url + "/partner/partners", json={"id": partner, "name": partner}, headers=ADMIN, timeout=30
    )
    response.raise_for_status()
    return str(response.json()["api_key"])


def upload_now(url: str, key: str, feed: bytes) -> tuple[float, dict[str, Any]]:
    """`async=0`: seconds until the answer, and the answer."""
    headers = {"X-API-Key": key, "Content-Type": "text/csv"}
    started = time.perf_counter()
    response = requests.post(
        url + "/partner/ingest?async=0", data=feed, headers=headers, timeout=600
    )
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response.json()


def load_directly(partner: str, feed: bytes) -> tuple[float, int]:
    """The pipeline alone, with the service's feed settings but its own dataset (and this
    process's DLT_DATA_DIR: its own dlt folder)."""
    settings = dataclasses.replace(feeds_settings(), dataset_name=DIRECT_DATASET)
    started = time.perf_counter()
    outcome = ingest_feed(partner, "catalog.csv", feed, settings)
    elapsed = time.perf_counter() - started
    assert outcome.status == FeedStatus.LOADED, outcome
    return elapsed, outcome.rows_loaded


def compare(url: str, feed: bytes, rows: int, repeat: int) -> dict[str, list[float]]:
    """Rows/s of the direct load and of `async=0`, round by round (the order alternating)."""
    # warm up both sides (imports, the dlt schemas and tables) with a small feed
    load_directly("warm-direct", catalog_csv(10, "WARM"))
    upload_now(url, onboard(url, "warm-service"), catalog_csv(10, "WARM"))
    print(f"feed: {rows} rows, {len(feed) / 1e6:.1f} MB CSV; {repeat} rounds")
    figures: dict[str, list[float]] = {"direct": [], "service": []}
    for round_ in range(repeat):
        sides = ["direct", "service"] if round_ % 2 == 0 else ["service", "direct"]
        for side in sides:
            if side == "direct":
                elapsed, loaded = load_directly(f"direct-{round_}", feed)
            else:
                elapsed, answer = upload_now(url, onboard(url, f"service-{round_}"), feed)
                assert answer["status"] == "loaded", answer
                loaded = int(answer["rows_loaded"])
            assert loaded == rows, (side, loaded)
            figures[side].append(rows / elapsed)
            print(f"  round {round_ + 1} {side:8} {elapsed:6.2f} s {rows / elapsed:9,.0f} rows/s")
    return figures


async def upload_queued(url: str, keys: list[str], feeds: list[bytes]) -> list[int]:
    """`async=1` uploads, client i sending feeds i, i + clients, ... on one keep-alive connection."""
    import httpx

    async def client(index: int, key: str) -> list[int]:
        ids = []
        headers = {"X-API-Key": key, "Content-Type": "text/csv"}
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=1)) as http:
            for feed in feeds[index :: len(keys)]:
                response = await http.post(
                    url + "/partner/ingest?async=1", content=feed, headers=headers
                )
                assert response.status_code == 202, response.text
                ids.append(int(response.json()["job_id"]))
        return ids

    per_client = await asyncio.gather(*(client(i, key) for i, key in enumerate(keys)))
    return [job_id for ids in per_client for job_id in ids]


def drain(url: str, job_ids: set[int], timeout_s: float = 3600) -> Counter[str]:
    """Poll the jobs listing until no job is left to run: each one loaded, failed, a
    duplicate, or given up by the queue (its attempts spent). How many ended in each status."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = requests.get(url + "/partner/jobs?limit=1000", headers=ADMIN, timeout=30).json()
        ours = [job for job in jobs if job["job_id"] in job_ids]
        if len(ours) == len(job_ids) and all(
            job["status"] in ("loaded", "failed", "duplicate")
            or job["queue_status"] in ("failed", "aborted")
            for job in ours
        ):
            return Counter(job["status"] for job in ours)
        time.sleep(0.2)
    raise TimeoutError(f"the queue was not drained within {timeout_s} s")


def start_workers(env: dict[str, str], work: Path, count: int) -> list[subprocess.Popen[bytes]]:
    """`python -m service.worker` processes, each waited for until it says it is ready."""
    workers = []
    for i in range(count):
        log_path = work / f"worker-{i}.log"
        with log_path.open("wb") as log:
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "service.worker"], env=env, stdout=log, stderr=log
                )
            )
        deadline = time.monotonic() + 120
        while "worker ready" not in log_path.read_text(errors="replace"):
            if workers[-1].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text(errors="replace"))
            time.sleep(0.1)
    return workers


def queued_run(
    url: str, env: dict[str, str], work: Path, args: argparse.Namespace
) -> tuple[float, float, Counter[str]]:
    """Seconds of the upload phase, from the first upload until drained, the jobs' statuses."""
    keys = [onboard(url, f"feeds-{i:02d}") for i in range(args.clients)]
    feeds = [catalog_csv(args.feed_rows, f"F{n:04d}") for n in range(args.feeds)]
    workers = start_workers(env, work, args.workers)
    try:
        started = time.perf_counter()
        job_ids = asyncio.run(upload_queued(url, keys, feeds))
        uploaded_s = time.perf_counter() - started
        statuses = drain(url, set(job_ids))
        drained_s = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=60)
    assert len(job_ids) == args.feeds
    return uploaded_s, drained_s, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the large feed")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of direct vs async=0")
    parser.add_argument("--feeds", type=int, default=200, help="small feeds sent with async=1")
    parser.add_argument("--feed-rows", type=int, default=50, help="rows of each small feed")
    parser.add_argument("--clients", type=int, default=20, help="concurrent uploading clients")
    parser.add_argument("--workers", type=int, default=1, help="queue worker processes")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-partner-service-"))
    cfg = SandboxConfig.ephemeral(work)
    postgres = PostgresServer()
    service: subprocess.Popen[bytes] | None = None
    # the service and its workers: 1 uvicorn worker, room for the large feed
    feed = catalog_csv(args.rows, "BIG")
    env = service_env(cfg, work / "service", 1, PARTNER_FEED_MAX_BYTES=str(2 * len(feed)))
    # this process loads the direct side: same database and .dlt config, its own dlt folder
    os.environ["DATABASE_URL"] = env["DATABASE_URL"]
    os.environ["DLT_DATA_DIR"] = str(work / "direct")
    use_project_dirs()
    try:
        postgres.start(cfg)
        service, url = start_service(cfg, work / "service", 1, env)
        print(f"load average before {os.getloadavg()[0]:.1f} (2 cores, shared)")
        figures = compare(url, feed, args.rows, args.repeat)
        print(
            f"{args.feeds} feeds of {args.feed_rows} rows, async=1, {args.clients} clients, "
            f"{args.workers} worker(s)"
        )
        upload_s, drained_s, statuses = queued_run(url, env, work, args)
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        postgres.stop(cfg)
        shutil.rmtree(work, ignore_errors=True)

    direct = statistics.median(figures["direct"])
    served = statistics.median(figures["service"])
    result = {
        "rows": args.rows,
        "repeat": args.repeat,
        "direct_rows_s": round(direct),
        "service_rows_s": round(served),
        "ratio": round(served / direct, 3),
        "feeds": args.feeds,
        "feed_rows": args.feed_rows,
        "clients": args.clients,
        "workers": args.workers,
        "upload_s": round(upload_s, 2),
        "uploads_s": round(args.feeds / upload_s, 1),
        "drained_s": round(drained_s, 2),
        "loaded_s": round(statuses["loaded"] / drained_s, 2),
        "jobs": dict(statuses),
        "load_average": round(os.getloadavg()[0], 1),
    }
    print()
    print(f"{'figure':60} {'value':>12}")
    for name, value in (
        (f"pipeline alone, {args.rows} rows (median rows/s)", f"{direct:,.0f}"),
        ("POST /partner/ingest?async=0, same feed (median rows/s)", f"{served:,.0f}"),
        ("  ratio service / pipeline (goal >= 0.8)", f"{served / direct:.2f}"),
        (f"async=1: {args.feeds} uploads by {args.clients} clients (s)", f"{upload_s:.2f}"),
        ("  uploads/s", f"{result['uploads_s']:.1f}"),
        (f"  first upload until drained, {args.workers} worker(s) (s)", f"{drained_s:.1f}"),
        ("  feeds loaded/s", f"{result['loaded_s']:.2f}"),
        ("  jobs by status", ", ".join(f"{n} {s}" for s, n in statuses.most_common())),
    ):
        print(f"{name:60} {value:>12}")
    print(f"load average after {result['load_average']:.1f}")
    print(json.dumps(result))
    return 0 if statuses == Counter(loaded=args.feeds) else 1


if __name__ == "__main__":
    sys.exit(main())
