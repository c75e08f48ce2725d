"""Partner catalog ingest on the running service: onboarding, hashed keys, uploads (async=0)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest
import requests

from tests.service.conftest import RunningService, metric_values
from tests.service.test_customers_api import assert_error

pytestmark = pytest.mark.e2e
FEEDS = Path(__file__).resolve().parents[2] / "sandbox" / "partner_feeds" / "feeds"
ACME_CSV = (FEEDS / "acme" / "catalog-2025-03-03.csv").read_bytes()
INITECH_JSON = (FEEDS / "initech" / "catalog.json").read_bytes()
GLOBEX_CSV = (FEEDS / "globex" / "products.csv").read_bytes()
MAX_BYTES = 4096


@pytest.fixture(scope="module")
def service(service_factory: Callable[..., RunningService]) -> RunningService:
    return service_factory(PARTNER_FEED_MAX_BYTES=str(MAX_BYTES))


def admin(service: RunningService, method: str, path: str, **kwargs: object) -> requests.Response:
    headers = {"X-Admin-Key": service.admin_key}
    return service.call(method, path, key=None, headers=headers, **kwargs)


def onboard(service: RunningService, partner: str) -> str:
    response = admin(
        service, "POST", "/partner/partners", json={"id": partner, "name": partner.title()}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == partner
    assert body["api_key"].startswith("pk_")
    return str(body["api_key"])


def upload(
    service: RunningService, key: str, body: bytes, content_type: str = "text/csv"
) -> requests.Response:
    return service.call(
        "POST",
        "/partner/ingest?async=0",
        key=key,
        data=body,
        headers={"Content-Type": content_type},
    )


def catalog(service: RunningService, partner: str) -> list[tuple]:
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT sku, name, price, stock FROM partner_catalog.catalog_products"
            " WHERE partner = %s ORDER BY sku",
            (partner,),
        )
        rows = cur.fetchall()
    conn.close()
    return rows


def test_admin_endpoints_need_the_admin_key(service: RunningService) -> None:
    for key in (None, "wrong"):
        headers = {"X-Admin-Key": key} if key else {}
        response = service.call(
            "POST", "/partner/partners", key=None, headers=headers, json={"id": "x", "name": "X"}
        )
        assert_error(response, 401, "Unauthorized")
    # an X-API-Key (partner or service key) is not the admin key: 403
    response = service.call("POST", "/partner/partners", json={"id": "x", "name": "X"})
    assert_error(response, 403, "Forbidden")


def test_onboard_upload_duplicate_and_audit(service: RunningService) -> None:
    key = onboard(service, "acme")
    assert_error(
        admin(service, "POST", "/partner/partners", json={"id": "acme", "name": "Again"}),
        409,
        "Conflict",
    )
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT partners::text FROM partners")
        stored = " ".join(row[0] for row in cur.fetchall())
    conn.close()
    assert key not in stored  # only the hash is kept
    assert key[3:] not in stored

    first = upload(service, key, ACME_CSV)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["status"] == "loaded"
    assert result["rows_loaded"] > 0
    loaded = catalog(service, "acme")
    assert len(loaded) == result["rows_loaded"]

    again = upload(service, key, ACME_CSV)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["job_id"] == result["job_id"]
    assert catalog(service, "acme") == loaded

    audit = service.call("GET", "/partner/audit", key=key).json()
    assert [(u["job_id"], u["status"]) for u in audit] == [(result["job_id"], "loaded")]
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT content FROM partner_uploads WHERE id = %s", (result["job_id"],))
        assert bytes(cur.fetchone()[0]) == ACME_CSV  # the raw feed, kept as received
    conn.close()


def test_json_feed_and_partners_see_only_their_own(service: RunningService) -> None:
    key = onboard(service, "initech")
    response = upload(service, key, INITECH_JSON, "application/json; charset=utf-8")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "loaded"
    assert len(catalog(service, "initech")) == response.json()["rows_loaded"] > 0
    audit = service.call("GET", "/partner/audit", key=key).json()
    assert [u["job_id"] for u in audit] == [response.json()["job_id"]]


def test_bad_uploads(service: RunningService) -> None:
    key = onboard(service, "initrode")
    assert_error(upload(service, key, b"sku,name", "text/plain"), 415, "UnsupportedMediaType")
    assert_error(upload(service, key, b"x" * (MAX_BYTES + 1)), 413, "PayloadTooLarge")
    assert_error(upload(service, key, b"{not json", "application/json"), 422, "UnprocessableFeed")
    assert_error(upload(service, None, ACME_CSV), 401, "Unauthorized")  # type: ignore[arg-type]
    assert_error(upload(service, "pk_made_up", ACME_CSV), 401, "Unauthorized")


def test_async_upload_is_processed_by_the_worker(
    service: RunningService, start_worker: Callable[[RunningService], subprocess.Popen[bytes]]
) -> None:
    key = onboard(service, "globex")
    response = service.call(
        "POST",
        "/partner/ingest?async=1",
        key=key,
        data=GLOBEX_CSV,
        headers={"Content-Type": "text/csv"},
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    start_worker(service)  # a real worker process: `python -m service.worker`
    deadline = time.monotonic() + 60
    while True:
        (job,) = service.call("GET", "/partner/audit", key=key).json()
        if job["status"] not in ("queued", "received"):
            break
        assert time.monotonic() < deadline, "the worker did not process the job"
        time.sleep(0.3)
    assert job["job_id"] == job_id
    assert job["status"] == "loaded"
    assert len(catalog(service, "globex")) == job["rows_loaded"] > 0
    again = upload(service, key, GLOBEX_CSV)
    assert again.json() == {**again.json(), "status": "duplicate", "job_id": job_id}


def test_rotate_and_revoke(service: RunningService) -> None:
    old = onboard(service, "hooli")
    rotated = admin(service, "POST", "/partner/partners/hooli/key")
    assert rotated.status_code == 200
    new = rotated.json()["api_key"]
    assert new != old
    assert_error(service.call("GET", "/partner/audit", key=old), 401, "Unauthorized")
    assert service.call("GET", "/partner/audit", key=new).status_code == 200

    assert admin(service, "DELETE", "/partner/partners/hooli/key").status_code == 204
    assert_error(service.call("GET", "/partner/audit", key=new), 401, "Unauthorized")
    assert_error(admin(service, "DELETE", "/partner/partners/nobody/key"), 404, "NotFound")
    assert_error(admin(service, "POST", "/partner/partners/nobody/key"), 404, "NotFound")


def test_no_key_in_the_log(service: RunningService) -> None:
    key = onboard(service, "umbrella")
    upload(service, key, INITECH_JSON, "application/json")
    log = service.log()
    assert key not in log
    assert service.admin_key not in log
    assert "Traceback" not in log


def test_metrics_count_what_was_done(
    service: RunningService, start_worker: Callable[[RunningService], subprocess.Popen[bytes]]
) -> None:
    assert_error(service.call("GET", "/metrics", key=None), 401, "Unauthorized")
    records_before = metric_values(service).get(
        ("service_pipeline_records_total", (("pipeline", "partner_feeds"),)), 0.0
    )
    key = onboard(service, "metrix")
    good = b"sku,name,price,stock\nA-1,Apple,1.00,3\nB-2,Banana,2.50,0\n"
    mixed = b"sku,name,price,stock\nC-3,Cherry,0.99,7\nD-4,Date,-1,2\n"
    assert upload(service, key, good).json()["rows_loaded"] == 2
    result = upload(service, key, mixed).json()
    assert (result["rows_loaded"], result["rows_rejected"]) == (1, 1)
    assert upload(service, key, b"[not json", "application/json").status_code == 422
    queued = service.call(
        "POST",
        "/partner/ingest?async=1",
        key=key,
        data=b"sku,name,price,stock\nE-5,Elderberry,4.00,1\n",
        headers={"Content-Type": "text/csv"},
    )
    assert queued.status_code == 202
    start_worker(service)
    deadline = time.monotonic() + 60
    while service.call("GET", "/partner/audit", key=key).json()[0]["status"] in (
        "queued",
        "received",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.3)

    samples = metric_values(service)

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("service_partner_feeds_total", partner="metrix", status="loaded") == 3
    assert value("service_partner_feeds_total", partner="metrix", status="failed") == 1
    assert value("service_partner_rows_total", partner="metrix", outcome="loaded") == 4
    assert value("service_partner_rows_total", partner="metrix", outcome="rejected") == 1
    assert value("service_jobs", task="process_upload", state="succeeded") >= 1
    assert value("service_job_duration_seconds_count", task="process_upload") >= 1
    ingests = value(
        "service_http_request_duration_seconds_count",
        method="POST",
        route="/partner/ingest",
        status="200",
    )
    assert ingests >= 2
    # 2 + 1 rows in requests, 1 in the worker process: each process's runs counted once
    assert value("service_pipeline_records_total", pipeline="partner_feeds") == records_before + 4


def test_admin_lists_inspects_and_requeues_jobs(
    service: RunningService, start_worker: Callable[[RunningService], subprocess.Popen[bytes]]
) -> None:
    key = onboard(service, "jobsco")
    loaded = upload(service, key, b"sku,name,price,stock\nJ-1,Jam,3.00,1\n").json()["job_id"]
    failed = upload(service, key, b"{broken", "application/json")
    assert failed.status_code == 422
    failed_id = admin(service, "GET", "/partner/jobs?partner=jobsco&status=failed").json()[0][
        "job_id"
    ]

    jobs = admin(service, "GET", "/partner/jobs?partner=jobsco").json()
    assert [(j["job_id"], j["status"]) for j in jobs] == [(failed_id, "failed"), (loaded, "loaded")]
    assert {j["partner"] for j in admin(service, "GET", "/partner/jobs").json()} >= {"jobsco"}
    assert admin(service, "GET", f"/partner/jobs/{loaded}").json()["rows_loaded"] == 1
    assert_error(admin(service, "GET", "/partner/jobs/999999"), 404, "NotFound")
    assert_error(service.call("GET", "/partner/jobs", key=key), 403, "Forbidden")
    assert_error(service.call("GET", "/partner/jobs", key=None), 401, "Unauthorized")

    assert_error(admin(service, "POST", f"/partner/jobs/{loaded}/requeue"), 409, "Conflict")
    assert_error(admin(service, "POST", "/partner/jobs/999999/requeue"), 404, "NotFound")
    response = admin(service, "POST", f"/partner/jobs/{failed_id}/requeue")
    assert response.status_code == 202
    assert response.json() == {"status": "queued", "job_id": failed_id}
    start_worker(service)
    deadline = time.monotonic() + 60
    while (job := admin(service, "GET", f"/partner/jobs/{failed_id}").json())["status"] == "queued":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    # run again by the worker: the same bytes fail the same way, with the reason kept
    assert job["status"] == "failed"
    assert job["queue_status"] == "succeeded"
    assert job["attempts"] == 1
    assert job["error"]
