"""Partner jobs on the real queue: each attempt's error kept, a worker killed with SIGKILL
mid-job (its job run again by the next worker, the feed loaded once), the upload's request id
in the task's log lines."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg2
import pytest
import requests

from tests.service.conftest import RunningService
from tests.service.test_partner_api import admin, catalog, onboard, upload

pytestmark = pytest.mark.e2e
STALLED_AFTER_S = 3
StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture(scope="module")
def service(service_factory: Callable[..., RunningService]) -> RunningService:
    return service_factory()


def queued(service: RunningService, key: str, body: bytes, request_id: str, **kw: str) -> int:
    response = service.call(
        "POST",
        "/partner/ingest?async=1",
        key=key,
        data=body,
        headers={"Content-Type": kw.get("content_type", "text/csv"), "X-Request-ID": request_id},
    )
    assert response.status_code == 202, response.text
    return int(response.json()["job_id"])


def wait_for(service: RunningService, job_id: int, done: Callable[[dict[str, Any]], bool]) -> Any:
    deadline = time.monotonic() + 90
    while not done(job := admin(service, "GET", f"/partner/jobs/{job_id}").json()):
        assert time.monotonic() < deadline, job
        time.sleep(0.3)
    return job


def worker_log(service: RunningService) -> str:
    return (service.log_file.parent / "worker.log").read_text(errors="replace")


def test_each_attempt_keeps_its_error(service: RunningService, start_worker: StartWorker) -> None:
    key = onboard(service, "attempts")
    job_id = queued(service, key, b"{broken", "req-attempt-1", content_type="application/json")
    start_worker(service)
    first = wait_for(service, job_id, lambda j: j["status"] == "failed")
    assert [a["attempt"] for a in first["attempt_log"]] == [1]
    assert first["attempt_log"][0]["outcome"] == "failed"
    assert first["attempt_log"][0]["error"] == first["error"]
    assert first["attempt_log"][0]["finished_at"] >= first["attempt_log"][0]["started_at"]

    assert admin(service, "POST", f"/partner/jobs/{job_id}/requeue").status_code == 202
    second = wait_for(
        service, job_id, lambda j: j["status"] == "failed" and len(j["attempt_log"]) == 2
    )
    log = second["attempt_log"]
    assert [a["attempt"] for a in log] == [1, 2]
    assert all(a["outcome"] == "failed" and "JSON" in a["error"] for a in log)
    assert log[1]["started_at"] >= log[0]["finished_at"]
    # the listing has no attempt log; one job has it
    listed = admin(service, "GET", "/partner/jobs?partner=attempts").json()
    assert listed[0]["attempt_log"] == []
    # the upload's request id is in the task's lines, with the job id
    lines = [line for line in worker_log(service).splitlines() if f"job_id={job_id} " in line]
    assert any("feed processed" in line and "request_id=req-attempt-1" in line for line in lines)


def test_a_worker_killed_mid_job_is_replaced(
    service: RunningService, start_worker: StartWorker
) -> None:
    key = onboard(service, "sturdy")
    assert upload(service, key, b"sku,name,price,stock\nS-0,Seed,1.00,1\n").status_code == 200
    feed = b"sku,name,price,stock\n" + b"".join(
        f"S-{n},Item {n},{n}.50,{n}\n".encode() for n in range(1, 51)
    )
    env = {"WORKER_STALLED_AFTER_S": str(STALLED_AFTER_S)}
    # the catalog table held by the test: the worker's load waits on it, mid-job
    holder = psycopg2.connect(service.database_url)
    try:
        with holder.cursor() as cur:
            cur.execute("LOCK TABLE partner_catalog.catalog_products IN ACCESS EXCLUSIVE MODE")
        job_id = queued(service, key, feed, "req-killed-1")
        first = start_worker(service, **env)
        wait_for(service, job_id, lambda j: j["queue_status"] == "doing")
        time.sleep(1)
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        assert admin(service, "GET", f"/partner/jobs/{job_id}").json()["queue_status"] == "doing"
    finally:
        holder.rollback()
        holder.close()

    time.sleep(STALLED_AFTER_S + 0.5)  # its heartbeat is now older than the limit
    start_worker(service, **env)
    job = wait_for(service, job_id, lambda j: j["status"] == "loaded")
    assert job["queue_status"] == "succeeded"
    assert job["attempt_log"][0]["finished_at"] is None  # the attempt its worker died in
    assert job["attempt_log"][-1]["outcome"] == "loaded"
    rows = catalog(service, "sturdy")
    assert len(rows) == 51
    assert len({sku for sku, *_ in rows}) == 51  # each row once
    assert "stalled job queued again" in worker_log(service)


def test_more_uploads_at_once_than_pooled_connections(
    service_factory: Callable[..., RunningService],
) -> None:
    """An upload holds one pooled connection at a time (the key check's is given back before
    the feed is stored and queued): 8 at once on a pool of 2 wait their turn, none gets 503."""
    small = service_factory(DB_POOL_SIZE="2")
    key = onboard(small, "crowd")
    feeds = [f"sku,name,price,stock\nC-{n},Item {n},1.00,1\n".encode() for n in range(24)]

    def send(feed: bytes) -> int:
        headers = {"X-API-Key": key, "Content-Type": "text/csv"}
        url = small.url + "/partner/ingest?async=1"
        return requests.post(url, data=feed, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(8) as clients:
        assert list(clients.map(send, feeds)) == [202] * len(feeds)


def test_feed_loads_at_once_from_requests_and_two_workers(
    service: RunningService, start_worker: StartWorker
) -> None:
    """Loads share one dlt folder and staging dataset: with 2 workers running queued feeds and
    4 `async=0` uploads in flight at once, every feed loads (they take turns)."""
    key = onboard(service, "together")

    def feed(n: int) -> bytes:
        return f"sku,name,price,stock\nT-{n}a,Item {n},1.00,1\nT-{n}b,Item {n},2.00,2\n".encode()

    queued_jobs = [queued(service, key, feed(n), f"req-together-{n}") for n in range(6)]
    start_worker(service)
    start_worker(service)
    with ThreadPoolExecutor(4) as clients:
        answers = list(clients.map(lambda n: upload(service, key, feed(n)).json(), range(6, 10)))
    assert [(a["status"], a["rows_loaded"]) for a in answers] == [("loaded", 2)] * 4
    for job_id in queued_jobs:
        job = wait_for(service, job_id, lambda j: j["status"] not in ("queued", "received"))
        assert (job["status"], job["rows_loaded"]) == ("loaded", 2), job
    assert len(catalog(service, "together")) == 20


def test_contract_example_and_help(service: RunningService) -> None:
    key = onboard(service, "acme")  # a partner of the registry: ';', decimal comma
    assert service.call("GET", "/partner/contract", key=None).status_code == 401
    contract = service.call("GET", "/partner/contract", key=key).json()
    assert contract["format"]["csv_delimiter"] == ";"
    assert contract["format"]["decimal_separator"] == ","
    fields = {f["name"]: f for f in contract["fields"]}
    assert [n for n, f in fields.items() if f["column_required"]] == [
        "sku",
        "name",
        "price",
        "stock",
    ]
    assert fields["price"]["type"] == "decimal"
    assert fields["price"]["scale"] == 2
    assert "preis" in fields["price"]["column_names"]
    assert not fields["description"]["value_required"]
    negative = next(e for e in fields["price"]["examples"] if e["value"] == "-1")
    assert negative["accepted"] is False

    example = service.call("GET", "/partner/contract/example", key=key).json()
    for fmt in ("csv", "json"):
        body = example[fmt]["body"].encode()
        result = upload(service, key, body, example[fmt]["content_type"]).json()
        assert result["status"] == "loaded", result
        assert (result["rows_loaded"], result["rows_rejected"]) == (2, 0)
    assert {sku for sku, *_ in catalog(service, "acme")} == {"EX-1", "EX-2"}

    # a rule of the contract is the rule an upload meets: same value, same reason
    bad = upload(service, key, b"artikelnummer;bezeichnung;preis;bestand\nB-1;Bad;-1;1\n").json()
    assert bad["rows_rejected"] == 1
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT reason FROM partner_catalog.rejects WHERE partner = 'acme'"
            " AND feed_checksum = %s",
            (bad["checksum"],),
        )
        assert cur.fetchall() == [(negative["reason"],)]
    conn.close()

    help_ = service.call("GET", "/partner/help", key=None).json()
    assert help_["limits"]["max_bytes"] == contract["max_bytes"]
    assert any("/partner/contract/example" in step for step in help_["steps"])


def test_a_rerun_of_a_loaded_feed_records_that_load(
    service: RunningService, start_worker: StartWorker
) -> None:
    """The worker that loaded a feed was killed before it recorded the result: the rerun finds
    the feed in the catalog's ledger and records the job as loaded, with that load's counts."""
    key = onboard(service, "answerlost")
    loaded = upload(service, key, b"sku,name,price,stock\nL-1,One,1.00,1\nL-2,Two,x,2\n").json()
    assert (loaded["status"], loaded["rows_loaded"], loaded["rows_rejected"]) == ("loaded", 1, 1)
    job_id = loaded["job_id"]
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:  # result lost
        cur.execute(
            "UPDATE partner_uploads SET status = 'queued', rows_loaded = NULL,"
            " rows_rejected = NULL WHERE id = %s",
            (job_id,),
        )
    conn.close()
    assert admin(service, "POST", f"/partner/jobs/{job_id}/requeue").status_code == 202
    start_worker(service)
    job = wait_for(service, job_id, lambda j: j["queue_status"] == "succeeded")
    assert (job["status"], job["rows_loaded"], job["rows_rejected"]) == ("loaded", 1, 1)
    assert [sku for sku, *_ in catalog(service, "answerlost")] == ["L-1"]


def test_an_upload_its_web_process_never_queued_is_queued_by_the_worker(
    service: RunningService, start_worker: StartWorker
) -> None:
    """Stored, then the web process died before queueing it (or during an async=0 run): once it
    is older than UPLOAD_ORPHANED_AFTER_S the worker queues it; a younger one is left alone."""
    key = onboard(service, "orphan")
    old = queued(service, key, b"sku,name,price,stock\nO-1,Old,1.00,1\n", "req-orphan-old")
    young = queued(service, key, b"sku,name,price,stock\nY-1,Young,1.00,1\n", "req-orphan-new")
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        # as if the process had died before deferring: no queue job, the upload 'received'
        cur.execute(
            "DELETE FROM procrastinate_jobs WHERE task_name = 'process_upload'"
            " AND (args->>'job_id')::bigint IN (%s, %s)",
            (old, young),
        )
        cur.execute(
            "UPDATE partner_uploads SET status = 'received', received_at = CASE id"
            " WHEN %s THEN now() - interval '1 hour' ELSE now() END WHERE id IN (%s, %s)",
            (old, old, young),
        )
    conn.close()
    start_worker(service, UPLOAD_ORPHANED_AFTER_S="600")
    job = wait_for(service, old, lambda j: j["status"] == "loaded")
    assert job["rows_loaded"] == 1
    assert "orphaned upload queued" in worker_log(service)
    # the recovery has run (it queued `old`); the young upload may still be in its request
    assert admin(service, "GET", f"/partner/jobs/{young}").json()["status"] == "received"
    assert [sku for sku, *_ in catalog(service, "orphan")] == ["O-1"]
