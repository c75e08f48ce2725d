"""The customer API (customer-data-pipeline.md) on the running service, over real Postgres."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg2
import pytest
import requests

from service.customers.ingest import INGEST_LOCK
from tests.service.conftest import RunningService, metric_values

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def service(service_factory: Callable[..., RunningService]) -> RunningService:
    return service_factory(scheme="postgres")  # the Heroku/Render spelling of DATABASE_URL


def table(service: RunningService) -> list[tuple]:
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT customer_id, first_name, last_name, email, phone, address, date_of_birth,"
            " account_balance, created_at FROM customer_data.customers ORDER BY customer_id"
        )
        rows = cur.fetchall()
    conn.close()
    return rows


def assert_error(response: requests.Response, status: int, name: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "details"}
    assert body["error"] == name
    assert body["details"]


def test_empty_before_the_first_ingest(service: RunningService) -> None:
    response = service.call("GET", "/api/customers", key=None)
    assert response.status_code == 200
    assert response.json() == {"data": [], "total": 0, "page": 1, "limit": 10, "total_pages": 0}


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_ingest_needs_the_service_key(service: RunningService, key: str | None) -> None:
    assert_error(service.call("POST", "/api/ingest", key=key), 401, "Unauthorized")
    assert table(service) == []


def test_ingest_twice_then_a_changed_customer(service: RunningService, customers_api: str) -> None:
    runs = ("service_pipeline_runs_total", (("pipeline", "customers"),))
    records = ("service_pipeline_records_total", (("pipeline", "customers"),))
    before = metric_values(service)
    for _ in range(2):
        response = service.call("POST", "/api/ingest")
        assert response.status_code == 200, response.text
        assert response.json() == {"status": "success", "records_processed": 25}
    rows = table(service)
    assert len(rows) == 25
    assert len({row[0] for row in rows}) == 25

    requests.put(
        f"{customers_api}/_sandbox/customers/CUST007",
        json={"email": "moved@example.org", "account_balance": 12.5},
        timeout=5,
    ).raise_for_status()
    assert service.call("POST", "/api/ingest").json()["records_processed"] == 25
    customer = service.call("GET", "/api/customers/CUST007", key=None).json()["data"]
    assert customer["email"] == "moved@example.org"
    assert customer["account_balance"] == 12.5
    assert len(table(service)) == 25
    after = metric_values(service)  # each run and the records it loaded, in /metrics
    assert after[runs] - before.get(runs, 0) == 3
    assert after[records] - before.get(records, 0) == 75


def test_read_api_serves_what_the_mock_serves(service: RunningService, customers_api: str) -> None:
    service.call("POST", "/api/ingest").raise_for_status()
    for page, limit in [(1, 10), (2, 10), (3, 10), (1, 100), (5, 5), (2, 7)]:
        ours = service.call("GET", f"/api/customers?page={page}&limit={limit}", key=None)
        mock = requests.get(f"{customers_api}/api/customers?page={page}&limit={limit}", timeout=5)
        assert ours.status_code == 200
        assert ours.json() == mock.json()
    beyond = service.call("GET", "/api/customers?page=4&limit=10", key=None).json()
    assert beyond["data"] == []
    assert (beyond["total"], beyond["total_pages"]) == (25, 3)

    one = service.call("GET", "/api/customers/CUST001", key=None)
    assert one.status_code == 200
    assert one.json() == requests.get(f"{customers_api}/api/customers/CUST001", timeout=5).json()
    assert_error(service.call("GET", "/api/customers/CUST999", key=None), 404, "NotFound")


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=101", "page=0", "page=-1", "page=abc", "limit=1.5"]
)
def test_bad_paging_is_422(service: RunningService, query: str) -> None:
    assert_error(service.call("GET", f"/api/customers?{query}", key=None), 422, "ValidationError")


def test_failing_source_is_502_and_leaves_the_table(
    service: RunningService, customers_api: str
) -> None:
    service.call("POST", "/api/ingest").raise_for_status()
    before = table(service)
    assert len(before) == 25
    requests.put(
        f"{customers_api}/_sandbox/customers/CUST003", json={"last_name": "Changed"}, timeout=5
    )
    requests.put(
        f"{customers_api}/_sandbox/faults", json={"fail_next": 1000, "status": 503}, timeout=5
    )
    response = service.call("POST", "/api/ingest")
    assert_error(response, 502, "UpstreamError")
    assert table(service) == before

    requests.put(f"{customers_api}/_sandbox/faults", json={"fail_next": 0}, timeout=5)
    assert service.call("POST", "/api/ingest").json() == {
        "status": "success",
        "records_processed": 25,
    }
    after = {row[0]: row for row in table(service)}
    assert after["CUST003"][2] == "Changed"
    assert len(after) == 25


def test_one_ingest_at_a_time(service: RunningService, customers_api: str) -> None:
    # Another process (or worker) holds the ingest lock: the call answers 409 at once.
    holder = psycopg2.connect(service.database_url)
    holder.autocommit = True
    with holder.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (INGEST_LOCK,))
        assert_error(service.call("POST", "/api/ingest"), 409, "Conflict")
        cur.execute("SELECT pg_advisory_unlock(%s)", (INGEST_LOCK,))
    holder.close()

    # Real concurrent calls: whichever runs, the others are refused, never run in parallel.
    with ThreadPoolExecutor(max_workers=3) as pool:
        responses = list(pool.map(lambda _: service.call("POST", "/api/ingest"), range(3)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses[0] == 200
    assert set(statuses) <= {200, 409}
    assert len(table(service)) == 25


def test_health_endpoints(service: RunningService) -> None:
    for path in ("/health", "/api/health"):
        response = service.call("GET", path, key=None)
        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}


def test_no_key_or_token_in_the_log_and_no_trace(service: RunningService) -> None:
    service.call("POST", "/api/ingest", key="a-wrong-key-that-must-not-be-logged")
    service.call("GET", "/api/customers?limit=abc", key=None)
    log = service.log()
    assert "request " in log
    assert "request_id=" in log
    assert service.api_key not in log
    assert "a-wrong-key-that-must-not-be-logged" not in log
    assert "sandbox-refresh-token" not in log
    assert "Traceback" not in log
