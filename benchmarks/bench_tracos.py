"""target-tracos upserting work orders into SecantusDB, against bare pymongo on the same server.

    .venv/bin/python benchmarks/bench_tracos.py            # 100k docs, per-record baseline on 5k
    BENCH_TRACOS_N=20000 BENCH_TRACOS_PER_RECORD_N=2000 BENCH_TRACOS_REPEAT=1 .venv/bin/python ...

Variants, each into a fresh collection with the unique index on `number`:
- target-tracos: the real CLI reading a Singer file (process start, parsing, validation,
  guarded UpdateOne upserts in bulk_write(ordered=False) batches of 1000);
- bare bulk_write: pymongo bulk_write(ordered=False) of plain UpdateOne upserts of the same
  documents, batches of 1000, documents already in memory as BSON-ready dicts;
- per record: one update_one(upsert=True) per document (on a smaller sample; it is slow).

The machine is shared, so timings wander by 2x between runs: target and bare bulk_write run
alternately BENCH_TRACOS_REPEAT times (default 2) and the best run of each is compared.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pymongo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sandbox.servers import MongoServer  # noqa: E402
from sandbox.settings import SandboxConfig  # noqa: E402

N = int(os.environ.get("BENCH_TRACOS_N", "100000"))
PER_RECORD_N = int(os.environ.get("BENCH_TRACOS_PER_RECORD_N", "5000"))
REPEAT = int(os.environ.get("BENCH_TRACOS_REPEAT", "2"))
BATCH = 1000
BASE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
STATUSES = ("pending", "in_progress", "completed", "on_hold", "cancelled")


def work_order(n: int) -> dict[str, Any]:
    created = BASE + dt.timedelta(minutes=n)
    return {
        "number": n,
        "status": STATUSES[n % 5],
        "title": f"ERP order {n}: replace bearing on line {n % 3 + 1}",
        "description": f"ERP order {n}: replace bearing on line {n % 3 + 1}",
        "createdAt": created.isoformat(timespec="milliseconds"),
        "updatedAt": (created + dt.timedelta(hours=3)).isoformat(timespec="milliseconds"),
        "deleted": n % 10 == 0,
        "deletedAt": None,
    }


def bson_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        **doc,
        "createdAt": dt.datetime.fromisoformat(doc["createdAt"]),
        "updatedAt": dt.datetime.fromisoformat(doc["updatedAt"]),
        "isSynced": False,
    }


def fresh(client: pymongo.MongoClient, name: str) -> pymongo.collection.Collection:
    client.drop_database(name)
    collection = client[name]["workorders"]
    collection.create_index("number", unique=True)
    return collection


def singer_file(folder: Path) -> Path:
    schema = {
        "type": "object",
        "properties": {
            "number": {"type": ["integer"]},
            "status": {"type": ["string"]},
            "title": {"type": ["string", "null"]},
            "description": {"type": ["string", "null"]},
            "createdAt": {"type": ["string"], "format": "date-time"},
            "updatedAt": {"type": ["string"], "format": "date-time"},
            "deleted": {"type": ["boolean"]},
            "deletedAt": {"type": ["string", "null"], "format": "date-time"},
        },
    }
    path = folder / "workorders.singer"
    with path.open("w") as fh:
        fh.write(
            json.dumps(
                {
                    "type": "SCHEMA",
                    "stream": "workorders",
                    "schema": schema,
                    "key_properties": ["number"],
                }
            )
            + "\n"
        )
        for n in range(1, N + 1):
            fh.write(
                json.dumps({"type": "RECORD", "stream": "workorders", "record": work_order(n)})
                + "\n"
            )
        fh.write(json.dumps({"type": "STATE", "value": {"bookmarks": {"bench": N}}}) + "\n")
    return path


def bench_target(uri_base: str, client: pymongo.MongoClient, folder: Path, messages: Path) -> float:
    fresh(client, "bench_target")
    config = folder / "target.json"
    config.write_text(
        json.dumps(
            {
                "mongo_uri": f"{uri_base}/bench_target",
                "batch_size_rows": BATCH,
                "dead_letter_dir": str(folder / "dl"),
            }
        )
    )
    exe = Path(sys.executable).with_name("target-tracos")
    started = time.perf_counter()
    result = subprocess.run(
        [str(exe), "--config", str(config), "--input", str(messages)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"target-tracos failed:\n{result.stderr[-3000:]}")
    assert client["bench_target"]["workorders"].count_documents({}) == N
    return seconds


def bench_bulk(client: pymongo.MongoClient) -> float:
    collection = fresh(client, "bench_bulk")
    docs = [bson_doc(work_order(n)) for n in range(1, N + 1)]
    started = time.perf_counter()
    for start in range(0, N, BATCH):
        ops = [
            pymongo.UpdateOne({"number": d["number"]}, {"$set": d}, upsert=True)
            for d in docs[start : start + BATCH]
        ]
        collection.bulk_write(ops, ordered=False)
    seconds = time.perf_counter() - started
    assert collection.count_documents({}) == N
    return seconds


def bench_per_record(client: pymongo.MongoClient) -> float:
    collection = fresh(client, "bench_one")
    docs = [bson_doc(work_order(n)) for n in range(1, PER_RECORD_N + 1)]
    started = time.perf_counter()
    for doc in docs:
        collection.update_one({"number": doc["number"]}, {"$set": doc}, upsert=True)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-tracos-") as tmp:
        folder = Path(tmp)
        cfg = SandboxConfig.ephemeral(folder / "sandbox")
        server = MongoServer()
        server.start(cfg)
        base = f"mongodb://127.0.0.1:{cfg.port('mongo')}"
        client: pymongo.MongoClient = pymongo.MongoClient(base, tz_aware=True)
        try:
            print(
                f"SecantusDB on {base}; {N} work orders, batches of {BATCH}, best of {REPEAT}",
                flush=True,
            )
            messages = singer_file(folder)
            target_runs, bulk_runs = [], []
            for _ in range(REPEAT):
                target_runs.append(bench_target(base, client, folder, messages))
                bulk_runs.append(bench_bulk(client))
                print(
                    f"  run: target {target_runs[-1]:.1f}s, bare bulk_write {bulk_runs[-1]:.1f}s",
                    flush=True,
                )
            target_s, bulk_s = min(target_runs), min(bulk_runs)
            one_s = bench_per_record(client)
        finally:
            client.close()
            server.stop(cfg)
    target_rate, bulk_rate, one_rate = N / target_s, N / bulk_s, PER_RECORD_N / one_s
    print(
        f"target-tracos (CLI, incl. start) {N:>7} docs {target_s:7.1f}s {target_rate:8.0f} docs/s"
    )
    print(f"bare bulk_write(ordered=False)   {N:>7} docs {bulk_s:7.1f}s {bulk_rate:8.0f} docs/s")
    print(
        f"update_one(upsert=True) each     {PER_RECORD_N:>7} docs {one_s:7.1f}s "
        f"{one_rate:8.0f} docs/s"
    )
    print(f"ratio target / bare bulk_write = {target_rate / bulk_rate:.2f} (goal >= 0.8)")
    print(f"ratio target / per-record      = {target_rate / one_rate:.1f}x (goal >= 20x)")


if __name__ == "__main__":
    main()
