"""The customers pipeline end to end: customer API stand-in over HTTP -> DuckDB and Postgres."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg2
import pytest
import requests

from pipelines.customers.pipeline import run
from sandbox.customers import DATA_FILE
from tests.conftest import run_meltano

pytestmark = pytest.mark.e2e
SOURCE = {c["customer_id"]: c for c in json.loads(DATA_FILE.read_text())}
CHANGE = {"email": "hugo.changed@example.com", "account_balance": 1234.5, "address": "1 New Street"}


def duckdb_rows(path: Path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.sql(
            "SELECT customer_id, first_name, last_name, email, phone, address, date_of_birth,"
            " account_balance, created_at FROM customer_data.customers"
        ).fetchall()
    return {r[0]: r for r in rows}


def postgres_rows(url: str) -> dict[str, tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT customer_id, first_name, last_name, email, phone, address, date_of_birth,"
            " account_balance, created_at FROM customer_data.customers"
        )
        rows = cur.fetchall()
    conn.close()
    return {r[0]: r for r in rows}


def expected(customer: dict) -> tuple:
    """The JSON record as the typed row the table must hold."""
    return (
        customer["customer_id"],
        customer["first_name"],
        customer["last_name"],
        customer["email"],
        customer["phone"],
        customer["address"],
        dt.date.fromisoformat(customer["date_of_birth"]) if customer["date_of_birth"] else None,
        decimal.Decimal(str(customer["account_balance"])).quantize(decimal.Decimal("0.01")),
        dt.datetime.fromisoformat(customer["created_at"]),
    )


def change_customer(api: str, customer_id: str) -> None:
    requests.put(
        f"{api}/_sandbox/customers/{customer_id}", json=CHANGE, timeout=5
    ).raise_for_status()


def test_duckdb_all_25_typed_rerun_idempotent_change_updated(
    customers_api: str, tmp_path: Path
) -> None:
    db = tmp_path / "customers.duckdb"
    kwargs = {
        "base_url": customers_api,
        "destination": "duckdb",
        "credentials": db,
        "pipelines_dir_": tmp_path / "p",
    }
    run(**kwargs)
    rows = duckdb_rows(db)
    assert rows == {cid: expected(c) for cid, c in SOURCE.items()}
    with duckdb.connect(str(db), read_only=True) as con:
        types = dict(
            con.sql(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = 'customer_data' AND table_name = 'customers'"
            ).fetchall()
        )
    assert types["date_of_birth"] == "DATE"
    assert types["account_balance"] == "DECIMAL(15,2)"
    assert types["created_at"] == "TIMESTAMP"

    run(**kwargs)
    assert len(duckdb_rows(db)) == 25

    change_customer(customers_api, "CUST007")
    run(**kwargs)
    rows = duckdb_rows(db)
    assert len(rows) == 25
    assert rows["CUST007"] == expected({**SOURCE["CUST007"], **CHANGE})
    assert rows["CUST008"] == expected(SOURCE["CUST008"])


def test_postgres_all_25_typed_rerun_idempotent_change_updated(
    customers_api: str, fresh_postgres_db: str, tmp_path: Path
) -> None:
    kwargs = {
        "base_url": customers_api,
        "destination": "postgres",
        "credentials": fresh_postgres_db,
        "pipelines_dir_": tmp_path / "p",
    }
    run(**kwargs)
    assert postgres_rows(fresh_postgres_db) == {cid: expected(c) for cid, c in SOURCE.items()}
    with psycopg2.connect(fresh_postgres_db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT column_name, data_type, character_maximum_length, numeric_precision,"
            " numeric_scale, is_nullable FROM information_schema.columns"
            " WHERE table_schema = 'customer_data' AND table_name = 'customers'"
        )
        columns = {r[0]: r[1:] for r in cur.fetchall()}
    conn.close()
    assert columns["customer_id"] == ("character varying", 50, None, None, "NO")
    assert columns["email"] == ("character varying", 255, None, None, "NO")
    assert columns["date_of_birth"][0] == "date"
    assert columns["account_balance"][:4] == ("numeric", None, 15, 2)
    assert columns["created_at"][0] == "timestamp without time zone"

    run(**kwargs)
    assert len(postgres_rows(fresh_postgres_db)) == 25

    change_customer(customers_api, "CUST007")
    run(**kwargs)
    rows = postgres_rows(fresh_postgres_db)
    assert len(rows) == 25
    assert rows["CUST007"] == expected({**SOURCE["CUST007"], **CHANGE})


@pytest.mark.parametrize(("stripes", "requests_made"), [(1, 3 + 2), (4, 1 + 3 + 2)])
def test_transient_5xx_is_retried_by_dlt(
    customers_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stripes: int,
    requests_made: int,
) -> None:
    """Three pages of ten (plus, when striped, page 1 asked first for total_pages), 2 retries."""
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    requests.put(
        f"{customers_api}/_sandbox/faults", json={"fail_next": 2, "status": 503}, timeout=5
    )
    db = tmp_path / "customers.duckdb"
    run(
        base_url=customers_api,
        destination="duckdb",
        credentials=db,
        pipelines_dir_=tmp_path / "p",
        page_size=10,
        page_stripes=stripes,
    )
    assert duckdb_rows(db) == {cid: expected(c) for cid, c in SOURCE.items()}
    stats = requests.get(f"{customers_api}/_sandbox/stats", timeout=5).json()
    assert stats["requests"] == requests_made


def test_permanent_4xx_fails_the_run_without_loading(customers_api: str, tmp_path: Path) -> None:
    requests.put(
        f"{customers_api}/_sandbox/faults", json={"fail_next": 1, "status": 404}, timeout=5
    )
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.customers"],
        env={
            "PATH": "/usr/bin:/bin",
            "CUSTOMERS_API_URL": customers_api,
            "DLT_DATA_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "sync failed" in result.stderr
    assert "Traceback" not in result.stderr
    db = tmp_path / "customers.duckdb"
    if db.exists():
        with pytest.raises(duckdb.CatalogException):
            duckdb_rows(db)  # nothing landed: not even the table


def test_meltano_run_lands_customers_and_dlt_shows_state(
    customers_api: str, meltano_env: dict[str, str], tmp_path: Path
) -> None:
    env = {**meltano_env, "DLT_DATA_DIR": str(tmp_path / "dlt")}
    result = run_meltano("run", "customers", env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(duckdb_rows(tmp_path / "dlt" / "customers.duckdb")) == 25
    info = run_meltano("invoke", "dlt:customers-info", env=env)
    assert info.returncode == 0, info.stderr[-3000:]
    assert "dataset_name: customer_data" in info.stdout + info.stderr
    assert "completed load packages" in info.stdout + info.stderr
