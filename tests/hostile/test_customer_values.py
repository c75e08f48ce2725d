"""Customers whose values the seed's table cannot hold: rejected row by row, never changed.

Before: account_balance >= 1e13 was stored as 0.00 (an unsafe cast to DECIMAL(15,2)),
10.005 became 10.01 but 2.675 became 2.67 (float rounding); a 500-character first_name failed
the Postgres load and every later run; one customer without email, or with
account_balance "abc", failed the whole run without naming the customer or the page.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import requests

from pipelines.customers.pipeline import run
from sandbox.customers import DATA_FILE
from sandbox.settings import PROJECT_ROOT, SandboxConfig

from .data_fixtures import fresh_db, query

__all__ = ["fresh_db"]
pytestmark = pytest.mark.e2e
SOURCE = {c["customer_id"]: c for c in json.loads(DATA_FILE.read_text())}
GOOD = set(SOURCE) - {"CUST001", "CUST004", "CUST005"}
HOSTILE = {
    "CUST001": {"account_balance": 1e13},  # does not fit NUMERIC(15,2)
    "CUST002": {"account_balance": 10.005},  # rounds to 10.01
    "CUST003": {"account_balance": 2.675},  # rounds to 2.68 (a float would give 2.67)
    "CUST004": {"first_name": "x" * 500},  # varchar(100)
    "CUST005": {"account_balance": "abc"},
    "CUST006": {"last_name": "Null\x00Byte"},  # text Postgres cannot store: U+FFFD
    # a new customer without email (NOT NULL)
    "CUST900": {"first_name": "No", "last_name": "Mail", "account_balance": 1},
}
REJECTED = {
    "CUST001": ("account_balance", "does not fit NUMERIC(15,2)"),
    "CUST004": ("first_name", "first_name is 500 characters, more than 100"),
    "CUST005": ("account_balance", "account_balance 'abc' is not a number"),
    "CUST900": ("email", "email is missing"),
}


@pytest.fixture
def hostile_api(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    url = sandbox_cfg.http_url("customers")
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()
    for customer, change in HOSTILE.items():
        requests.put(f"{url}/_sandbox/customers/{customer}", json=change, timeout=5)
    yield url
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()


def check_first_run(rows: dict[str, tuple], rejects: list[tuple]) -> None:
    """Every good customer landed with its exact value; each bad one is a named reject."""
    assert set(rows) == GOOD
    assert rows["CUST002"][1] == Decimal("10.01")
    assert rows["CUST003"][1] == Decimal("2.68")
    assert rows["CUST006"][2] == "Null\ufffdByte"
    for customer in GOOD - {"CUST002", "CUST003"}:
        source = SOURCE[customer]["account_balance"]
        assert rows[customer][1] == Decimal(str(source)).quantize(Decimal("0.01"))
    found = {r[0]: r for r in rejects}
    assert set(found) == set(REJECTED)
    for customer, (field, problem) in REJECTED.items():
        _, page, got_field, reason, raw = found[customer]
        assert page == 1  # 25 customers, pages of 100
        assert got_field == field
        assert reason.startswith(f"customer {customer} on page 1: ")
        assert problem in reason
        assert json.loads(raw)["customer_id"] == customer


def test_postgres_rejects_rows_by_rule_loads_the_rest_and_next_run_is_free(
    hostile_api: str, fresh_db: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "CUSTOMERS_API_URL": hostile_api,
        "DATABASE_URL": fresh_db,
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    command = [sys.executable, "-m", "pipelines.customers", "--destination", "postgres"]

    first = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )

    assert first.returncode == 1, first.stderr  # rows were rejected: look at customer_rejects
    assert "Traceback" not in first.stderr
    lines = [line for line in first.stderr.splitlines() if "customer rejected" in line]
    assert len(lines) == len(REJECTED)
    assert any("customer_id=CUST900 page=1" in line for line in lines)
    rows = {
        r[0]: r
        for r in query(
            fresh_db, "SELECT customer_id, account_balance, last_name FROM customer_data.customers"
        )
    }
    rejects = query(
        fresh_db,
        "SELECT customer_id, page, field, reason, raw FROM customer_data.customer_rejects",
    )
    check_first_run(rows, rejects)

    # the source is fixed: the next run loads everyone, nothing of the first run is in the way
    requests.post(f"{hostile_api}/_sandbox/reset", timeout=5).raise_for_status()
    second = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert second.returncode == 0, second.stderr
    assert len(query(fresh_db, "SELECT 1 FROM customer_data.customers")) == len(SOURCE)
    assert len(query(fresh_db, "SELECT 1 FROM customer_data.customer_rejects")) == len(REJECTED)


def test_duckdb_applies_the_same_rules(hostile_api: str, tmp_path: Path) -> None:
    database = tmp_path / "customers.duckdb"
    kwargs = {
        "base_url": hostile_api,
        "destination": "duckdb",
        "credentials": str(database),
        "pipelines_dir_": tmp_path / "pipelines",
    }
    run(**kwargs)

    with duckdb.connect(str(database), read_only=True) as con:
        rows = {
            r[0]: r
            for r in con.sql(
                "SELECT customer_id, account_balance, last_name FROM customer_data.customers"
            ).fetchall()
        }
        rejects = con.sql(
            "SELECT customer_id, page, field, reason, raw FROM customer_data.customer_rejects"
        ).fetchall()
    check_first_run(rows, rejects)


def test_balances_round_half_away_from_zero_on_the_exact_decimal() -> None:
    """The rule, one row per case: what NUMERIC(15,2) would store from the exact number."""
    from pipelines.customers.validation import Batch

    cases = {
        "10.005": "10.01",
        "2.675": "2.68",
        "-2.675": "-2.68",
        "0.004": "0.00",
        "9999999999999.994": "9999999999999.99",
        "1.000000000000005": "1.00",  # more places than Arrow's first pass takes
    }
    rows = [
        {
            "customer_id": f"C{i}",
            "first_name": "a",
            "last_name": "b",
            "email": "c",
            "account_balance": Decimal(value),
        }
        for i, value in enumerate(cases)
    ]
    batch = Batch(rows, dt.datetime.now(dt.UTC))
    assert not batch.rejects
    assert [str(v) for v in batch.table["account_balance"].to_pylist()] == list(cases.values())
    over = Batch(
        [{**rows[0], "account_balance": Decimal("9999999999999.995")}], dt.datetime.now(dt.UTC)
    )
    assert over.table.num_rows == 0
    assert over.rejects[0]["field"] == "account_balance"
