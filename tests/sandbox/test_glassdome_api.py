"""Contract of the Glassdome API stand-in: every behaviour docs/glassdome.md names.

Runs against the session sandbox's real server over HTTP. Writes use company_2's key so
the company_1 state other tests rely on (only MAT-1001) is left alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
import requests

from sandbox.glassdome.app import Faults, create_app, init_db
from sandbox.settings import SandboxConfig

KEY_1 = {"X-API-Key": "pat_cp1_xoxo"}
KEY_2 = {"X-API-Key": "pat_cp2_xoxo"}


@pytest.fixture
def api(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    url = sandbox_cfg.http_url("glassdome")
    yield url
    requests.put(f"{url}/_sandbox/faults", json={}, timeout=5)  # faults off again


def uid(prefix: str = "T") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def products(api: str, headers: dict[str, str], **params: object) -> list[dict]:
    response = requests.get(f"{api}/products", headers=headers, params=params, timeout=5)
    assert response.status_code == 200
    return response.json()["items"]


def by_id(api: str, external_id: str) -> dict | None:
    offset = 0
    while page := products(api, KEY_2, limit=200, offset=offset, include_deleted="true"):
        for item in page:
            if item["external_id"] == external_id:
                return item
        offset += 200
    return None


def test_health_is_public(api: str) -> None:
    response = requests.get(f"{api}/health", timeout=5)
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "nope"}])
def test_missing_or_unknown_key_is_401(api: str, headers: dict[str, str]) -> None:
    for method, path in (
        ("GET", "/products"),
        ("POST", "/ingest/products"),
        ("PATCH", "/products"),
    ):
        response = requests.request(method, f"{api}{path}", headers=headers, json=[], timeout=5)
        assert response.status_code == 401
        assert response.json() == {"error": "Unauthorized: invalid or missing X-API-Key"}


def test_seeded_product_is_listed_for_its_company_only(api: str) -> None:
    items = products(api, KEY_1)
    seeded = [i for i in items if i["external_id"] == "MAT-1001"]
    assert [(i["sku"], i["status"], i["company_id"]) for i in seeded] == [
        ("SKU-ALPHA", "ACTIVE", "company_1")
    ]
    assert all(i["external_id"] != "MAT-1001" for i in products(api, KEY_2, limit=200))


@pytest.mark.parametrize("body", [{"id": "x", "sku": "y", "status": "ACTIVE"}, "text", None])
def test_ingest_rejects_anything_but_an_array(api: str, body: object) -> None:
    response = requests.post(f"{api}/ingest/products", headers=KEY_2, json=body, timeout=5)
    assert response.status_code == 400


def test_ingest_names_the_index_of_a_record_missing_a_field(api: str) -> None:
    body = [{"id": uid(), "sku": uid("S"), "status": "ACTIVE"}, {"id": uid(), "status": "ACTIVE"}]
    response = requests.post(f"{api}/ingest/products", headers=KEY_2, json=body, timeout=5)
    assert response.status_code == 400
    assert "index 1" in response.json()["error"]
    assert by_id(api, body[0]["id"]) is None


def test_ingest_inserts_a_batch(api: str) -> None:
    body = [
        {"id": uid(), "sku": uid("S"), "status": s} for s in ("ACTIVE", "INACTIVE", "DISCONTINUED")
    ]
    response = requests.post(f"{api}/ingest/products", headers=KEY_2, json=body, timeout=5)
    assert (response.status_code, response.json()) == (201, {"inserted": 3})
    assert by_id(api, body[2]["id"])["status"] == "DISCONTINUED"


@pytest.mark.parametrize("clash", ["sku", "id", "status"])
def test_one_violation_fails_the_whole_batch(api: str, clash: str) -> None:
    existing = {"id": uid(), "sku": uid("S"), "status": "ACTIVE"}
    assert (
        requests.post(
            f"{api}/ingest/products", headers=KEY_2, json=[existing], timeout=5
        ).status_code
        == 201
    )
    good = {"id": uid(), "sku": uid("S"), "status": "ACTIVE"}
    bad = {"id": uid(), "sku": uid("S"), "status": "ACTIVE"}
    if clash == "sku":
        bad["sku"] = existing["sku"]
    elif clash == "id":
        bad["id"] = existing["id"]
    else:
        bad["status"] = "active"
    response = requests.post(f"{api}/ingest/products", headers=KEY_2, json=[good, bad], timeout=5)
    assert response.status_code == 500
    constraint = {
        "sku": "ux_products_company_sku",
        "id": "ux_products_company_external",
        "status": "products_status_check",
    }[clash]
    assert constraint in response.json()["error"]
    assert by_id(api, good["id"]) is None  # nothing of the batch was inserted


def test_patch_coalesces_missing_fields_and_skips_unknown_ids(api: str) -> None:
    row = {"id": uid(), "sku": uid("S"), "status": "ACTIVE"}
    requests.post(f"{api}/ingest/products", headers=KEY_2, json=[row], timeout=5)
    body = [{"id": row["id"], "status": "INACTIVE"}, {"id": uid("UNKNOWN"), "sku": uid("S")}]
    response = requests.patch(f"{api}/products", headers=KEY_2, json=body, timeout=5)
    assert (response.status_code, response.json()) == (200, {"updated": 1, "skipped": 1})
    assert {k: by_id(api, row["id"])[k] for k in ("sku", "status")} == {
        "sku": row["sku"],
        "status": "INACTIVE",
    }


def test_patch_without_id_is_400(api: str) -> None:
    response = requests.patch(f"{api}/products", headers=KEY_2, json=[{"sku": "x"}], timeout=5)
    assert response.status_code == 400
    assert "index 0" in response.json()["error"]


@pytest.mark.parametrize("field", ["sku", "status"])
def test_patch_violation_fails_the_whole_batch(api: str, field: str) -> None:
    a = {"id": uid(), "sku": uid("S"), "status": "ACTIVE"}
    b = {"id": uid(), "sku": uid("S"), "status": "ACTIVE"}
    requests.post(f"{api}/ingest/products", headers=KEY_2, json=[a, b], timeout=5)
    bad = {"id": b["id"], "sku": a["sku"]} if field == "sku" else {"id": b["id"], "status": "GONE"}
    response = requests.patch(
        f"{api}/products",
        headers=KEY_2,
        json=[{"id": a["id"], "status": "INACTIVE"}, bad],
        timeout=5,
    )
    assert response.status_code == 500
    assert by_id(api, a["id"])["status"] == "ACTIVE"  # the good half was rolled back too


def test_listing_clamps_limit_orders_by_update_time_and_hides_deleted(
    api: str, sandbox_cfg: SandboxConfig
) -> None:
    rows = [{"id": uid(), "sku": uid("S"), "status": "ACTIVE"} for _ in range(205)]
    assert (
        requests.post(f"{api}/ingest/products", headers=KEY_2, json=rows, timeout=10).status_code
        == 201
    )
    page = requests.get(f"{api}/products", headers=KEY_2, params={"limit": 1000}, timeout=5).json()
    assert (page["limit"], page["offset"], len(page["items"])) == (200, 0, 200)
    assert set(page) == {"items", "limit", "offset"}  # no total
    assert (
        requests.get(f"{api}/products", headers=KEY_2, params={"limit": 0}, timeout=5).json()[
            "limit"
        ]
        == 1
    )
    assert len(requests.get(f"{api}/products", headers=KEY_2, timeout=5).json()["items"]) == 50
    times = [i["update_time"] for i in page["items"]]
    assert times == sorted(times, reverse=True)

    requests.patch(
        f"{api}/products",
        headers=KEY_2,
        json=[{"id": rows[0]["id"], "status": "INACTIVE"}],
        timeout=5,
    )
    assert products(api, KEY_2, limit=1)[0]["external_id"] == rows[0]["id"]  # newest update first

    with psycopg2.connect(sandbox_cfg.postgres_url("glassdome")) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE products SET delete_time = now() WHERE external_id = %s", (rows[1]["id"],)
        )
    conn.close()
    visible = set()
    offset = 0
    while page_items := products(api, KEY_2, limit=200, offset=offset):
        visible |= {i["external_id"] for i in page_items}
        offset += 200
    assert rows[1]["id"] not in visible
    assert rows[2]["id"] in visible
    assert by_id(api, rows[1]["id"])["delete_time"] is not None  # listed with include_deleted=true


def test_fault_mode_errors_throttles_and_drops(api: str) -> None:
    def set_faults(**faults: float) -> None:
        assert requests.put(f"{api}/_sandbox/faults", json=faults, timeout=5).status_code == 200

    set_faults(error=1.0)
    response = requests.get(f"{api}/products", headers=KEY_2, timeout=5)
    assert response.status_code in (500, 502, 503)
    assert response.json()["error"].startswith("injected fault")
    assert requests.get(f"{api}/health", timeout=5).status_code == 200  # health is never faulted

    set_faults(throttle=1.0, retry_after=2)
    response = requests.get(f"{api}/products", headers=KEY_2, timeout=5)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2")

    set_faults(drop=1.0)
    row = {"id": uid(), "sku": uid("S"), "status": "ACTIVE"}
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{api}/ingest/products", headers=KEY_2, json=[row], timeout=5)
    set_faults()
    assert by_id(api, row["id"]) is None  # dropped before processing

    set_faults(drop_after=1.0)
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{api}/ingest/products", headers=KEY_2, json=[row], timeout=5)
    set_faults()
    assert by_id(api, row["id"]) is not None  # committed, then the connection was cut


def test_fault_spec_parses_and_rejects_unknown_names() -> None:
    assert Faults.parse("error=0.2, throttle=0.05,drop=0.05,latency_ms=10") == Faults(
        error=0.2, throttle=0.05, drop=0.05, latency_ms=10
    )
    with pytest.raises(ValueError, match="unknown fault"):
        Faults.parse("explode=1")


def test_health_is_500_when_its_database_is_gone(sandbox_cfg: SandboxConfig) -> None:
    name = f"glassdome_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(sandbox_cfg.postgres_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    init_db(sandbox_cfg.postgres_url(name))
    client = create_app(sandbox_cfg.postgres_url(name)).test_client()
    assert client.get("/health").status_code == 200
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE {name} WITH (FORCE)")
    admin.close()
    response = client.get("/health")
    assert response.status_code == 500
    assert response.get_json()["status"] == "error"
