"""The product aggregator API (product-aggregator.md) on the running service, with the offers
stand-in and the real offers pipeline."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg2
import pytest
import requests

from pipelines.offers.pipeline import run as sync_offers
from pipelines.offers.sync import SyncSettings
from sandbox.settings import OFFERS_REFRESH_TOKEN
from tests.offers.conftest import OffersAdmin
from tests.service.conftest import RunningService, metric_values
from tests.service.test_customers_api import assert_error

pytestmark = pytest.mark.e2e
REGISTER_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def service(service_factory: Callable[..., RunningService]) -> RunningService:
    return service_factory(
        scheme="postgresql+asyncpg",  # the product-aggregator seed's spelling
        OFFERS_REGISTER_TIMEOUT_S=str(REGISTER_TIMEOUT_S),
    )


def sync(service: RunningService, offers_admin: OffersAdmin, tmp_path: Path) -> None:
    """One run of the offers pipeline into the service's database (the scheduled sync)."""
    settings = SyncSettings(
        service_url=offers_admin.url,
        refresh_token=OFFERS_REFRESH_TOKEN,
        database_url=service.database_url,
        token_cache=service.data_dir / "offers" / "access-token.json",  # the service's token
    )
    outcomes = sync_offers(settings, pipelines_dir_=tmp_path / "dlt")
    assert all(o.status == "ok" for o in outcomes), outcomes


def stored_offers(service: RunningService, product_id: str) -> list[tuple]:
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT id::text FROM offers WHERE product_id = %s ORDER BY id", (product_id,))
        rows = cur.fetchall()
    conn.close()
    return rows


def create(service: RunningService, **body: object) -> dict:
    response = service.call("POST", "/products", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.mark.parametrize("key", [None, "wrong"])
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/products"),
        ("PUT", f"/products/{uuid.UUID(int=1)}"),
        ("DELETE", f"/products/{uuid.UUID(int=1)}"),
    ],
)
def test_writes_need_the_service_key(
    service: RunningService, method: str, path: str, key: str | None
) -> None:
    response = service.call(method, path, key=key, json={"name": "x"})
    assert_error(response, 401, "Unauthorized")


def test_create_registers_sync_serves_offers_delete_removes_them(
    service: RunningService, offers_admin: OffersAdmin, tmp_path: Path
) -> None:
    product = create(service, name="  Kettle  ", description="Gooseneck, 1 l")
    assert product["name"] == "Kettle"
    assert product["registered"] is True
    assert product["id"] in offers_admin.stats()["registered"]
    assert service.call("GET", f"/products/{product['id']}/offers", key=None).json() == []

    sync(service, offers_admin, tmp_path)
    served = {o["id"]: o for o in offers_admin.offers(product["id"])}
    assert served
    response = service.call("GET", f"/products/{product['id']}/offers", key=None)
    assert response.status_code == 200
    cached = response.json()
    assert {o["id"]: {k: o[k] for k in ("id", "price", "items_in_stock")} for o in cached} == served

    assert service.call("DELETE", f"/products/{product['id']}").status_code == 204
    assert_error(service.call("GET", f"/products/{product['id']}", key=None), 404, "NotFound")
    assert_error(
        service.call("GET", f"/products/{product['id']}/offers", key=None), 404, "NotFound"
    )
    assert stored_offers(service, product["id"]) == []
    assert_error(service.call("DELETE", f"/products/{product['id']}"), 404, "NotFound")


def test_registration_failure_saves_the_product_and_the_sync_registers_it(
    service: RunningService, offers_admin: OffersAdmin, tmp_path: Path
) -> None:
    offers_admin.settings(latency_ms=int(REGISTER_TIMEOUT_S * 1000) + 1500)
    product = create(service, name="Scale")
    assert product["registered"] is False
    got = service.call("GET", f"/products/{product['id']}", key=None).json()
    assert got["registered"] is False

    offers_admin.settings(latency_ms=0)
    sync(service, offers_admin, tmp_path)
    assert service.call("GET", f"/products/{product['id']}", key=None).json()["registered"] is True
    assert product["id"] in offers_admin.stats()["registered"]
    assert stored_offers(service, product["id"])


def test_read_and_replace(service: RunningService, offers_admin: OffersAdmin) -> None:
    product = create(service, name="Dripper")
    path = f"/products/{product['id']}"
    assert service.call("GET", path, key=None).json() == product

    response = service.call("PUT", path, json={"name": "Dripper V60", "description": "size 02"})
    assert response.status_code == 200
    replaced = response.json()
    assert (replaced["name"], replaced["description"]) == ("Dripper V60", "size 02")
    assert replaced["created_at"] == product["created_at"]
    assert replaced["updated_at"] > product["updated_at"]
    assert service.call("GET", path, key=None).json() == replaced

    listed = service.call("GET", "/products?limit=1000", key=None).json()
    assert replaced in listed
    assert_error(
        service.call("PUT", f"/products/{uuid.uuid4()}", json={"name": "n"}), 404, "NotFound"
    )
    assert_error(service.call("GET", f"/products/{uuid.uuid4()}", key=None), 404, "NotFound")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 201},
        {"name": 5},
        {"name": "ok", "price": 3},  # unknown field
        {"name": "nul\x00byte"},
        [],
    ],
)
def test_invalid_product_is_422(service: RunningService, body: object) -> None:
    assert_error(service.call("POST", "/products", json=body), 422, "ValidationError")


def test_malformed_requests_are_422_json(service: RunningService) -> None:
    assert_error(
        service.call(
            "POST", "/products", data=b"{not json", headers={"Content-Type": "application/json"}
        ),
        422,
        "ValidationError",
    )
    for path in ("/products/not-a-uuid", "/products/not-a-uuid/offers", "/products?limit=0"):
        assert_error(service.call("GET", path, key=None), 422, "ValidationError")


def test_offers_are_read_only_and_unknown_routes_are_json(service: RunningService) -> None:
    product_offers = f"/products/{uuid.uuid4()}/offers"
    for method in ("POST", "PUT", "DELETE"):
        assert_error(service.call(method, product_offers, json=[]), 405, "MethodNotAllowed")
    assert_error(service.call("GET", "/nowhere", key=None), 404, "NotFound")


def test_openapi_says_which_endpoints_need_the_key(service: RunningService) -> None:
    document = requests.get(service.url + "/openapi.json", timeout=5).json()
    assert document["components"]["securitySchemes"]["ServiceKey"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The service key (SERVICE_API_KEY); writes and /api/ingest need it.",
    }
    secured = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if {"ServiceKey": []} in operation.get("security", [])
    }
    assert secured == {
        ("POST", "/api/ingest"),
        ("POST", "/products"),
        ("PUT", "/products/{product_id}"),
        ("DELETE", "/products/{product_id}"),
    }
    assert requests.get(service.url + "/docs", timeout=5).status_code == 200


def test_sync_schedule_runs_the_offers_sync_on_the_queue(
    service_factory: Callable[..., RunningService], offers_admin: OffersAdmin
) -> None:
    # SYNC_SCHEDULE as the seed writes it (seconds first): every 2 s, by the worker
    scheduled = service_factory(SYNC_SCHEDULE="*/2 * * * * *")
    # (registered now, or - while another process holds the one access token - by the sync)
    product = create(scheduled, name="Scheduled kettle")
    worker = subprocess.Popen(
        [sys.executable, "-m", "service.worker"],
        env={**os.environ, **scheduled.env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        path = f"/products/{product['id']}/offers"
        while not (cached := scheduled.call("GET", path, key=None).json()):
            assert time.monotonic() < deadline, "the scheduled sync did not run"
            time.sleep(0.5)
        # /metrics counts the worker's runs and the offers they wrote
        offers = ("service_pipeline_records_total", (("pipeline", "offers"),))
        while metric_values(scheduled).get(offers, 0) < len(cached):
            assert time.monotonic() < deadline, metric_values(scheduled)
            time.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    assert all(o["price"] >= 0 and o["items_in_stock"] >= 0 for o in cached)
    assert scheduled.call("GET", f"/products/{product['id']}", key=None).json()["registered"]
    assert product["id"] in offers_admin.stats()["registered"]
    with psycopg2.connect(scheduled.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'sync_offers'"
            " AND status = 'succeeded'"
        )
        assert cur.fetchone()[0] >= 1
    conn.close()
