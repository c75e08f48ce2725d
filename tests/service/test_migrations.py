"""The Alembic history: a fresh database, one made by the old runner, concurrent upgrades."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from sandbox.settings import SandboxConfig
from service.migrations import current, upgrade
from tests.service.conftest import create_database, drop_database

pytestmark = pytest.mark.e2e
HEAD = "0008"

# What pipelines/offers/migrations.py (the hand-made runner) left in a database.
OLD_RUNNER = """
CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS products (
    id uuid PRIMARY KEY, name text NOT NULL, description text, registered_at timestamptz
);
CREATE TABLE IF NOT EXISTS offers (
    product_id uuid NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    id uuid NOT NULL, price integer NOT NULL, items_in_stock integer NOT NULL,
    synced_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (product_id, id)
);
INSERT INTO schema_migrations (version) VALUES ('001_products_offers');
"""


@pytest.fixture
def database(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    url = create_database(sandbox_cfg, "migrations")
    yield url
    drop_database(sandbox_cfg, url)


def query(url: str, sql: str, *args: object) -> list[tuple]:
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.close()
    return rows


def columns(url: str, schema: str, table: str) -> list[str]:
    return [
        name
        for (name,) in query(
            url,
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            schema,
            table,
        )
    ]


def test_fresh_database_gets_every_table(database: str) -> None:
    assert current(database) is None
    upgrade(database)
    assert current(database) == HEAD
    assert columns(database, "public", "products") == [
        "id",
        "name",
        "description",
        "registered_at",
        "created_at",
        "updated_at",
    ]
    assert columns(database, "public", "offers") == [
        "product_id",
        "id",
        "price",
        "items_in_stock",
        "synced_at",
    ]
    assert columns(database, "customer_data", "customers") == [
        "customer_id", "first_name", "last_name", "email", "phone", "address",
        "date_of_birth", "account_balance", "created_at",
    ]  # fmt: skip
    upgrade(database)  # at head: nothing to do
    assert current(database) == HEAD


def test_database_of_the_old_runner_upgrades_in_place(database: str) -> None:
    registered, unregistered, offer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with psycopg2.connect(database) as conn, conn.cursor() as cur:
        cur.execute(OLD_RUNNER)
        cur.execute(
            "INSERT INTO products VALUES (%s, 'Espresso', 'pump', now()), (%s, 'Tamper', NULL, NULL)",
            (str(registered), str(unregistered)),
        )
        cur.execute(
            "INSERT INTO offers (product_id, id, price, items_in_stock) VALUES (%s, %s, 990, 4)",
            (str(registered), str(offer)),
        )
    conn.close()

    upgrade(database)

    assert current(database) == HEAD
    assert query(database, "SELECT to_regclass('schema_migrations')") == [(None,)]
    products = query(
        database,
        "SELECT id, name, description, registered_at IS NOT NULL, created_at IS NOT NULL"
        " FROM products ORDER BY name",
    )
    assert products == [
        (str(registered), "Espresso", "pump", True, True),
        (str(unregistered), "Tamper", None, False, True),
    ]
    assert query(database, "SELECT product_id, id, price, items_in_stock FROM offers") == [
        (str(registered), str(offer), 990, 4)
    ]


def test_customers_table_made_by_dlt_gets_its_key(database: str) -> None:
    # As the customers pipeline left it before the service owned the schema: no primary key.
    with psycopg2.connect(database) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE SCHEMA customer_data; CREATE TABLE customer_data.customers ("
            " customer_id varchar(50) NOT NULL, first_name varchar(100) NOT NULL,"
            " last_name varchar(100) NOT NULL, email varchar(255) NOT NULL, phone varchar(20),"
            " address text, date_of_birth date, account_balance numeric(15,2),"
            " created_at timestamp);"
            "INSERT INTO customer_data.customers (customer_id, first_name, last_name, email)"
            " VALUES ('CUST001', 'Ana', 'Costa', 'ana@example.com')"
        )
    conn.close()
    upgrade(database)
    assert query(
        database,
        "SELECT a.attname FROM pg_index i JOIN pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = 'customer_data.customers'::regclass AND i.indisprimary",
    ) == [("customer_id",)]
    assert query(database, "SELECT customer_id FROM customer_data.customers") == [("CUST001",)]


def test_concurrent_upgrades_wait_for_each_other(database: str) -> None:
    # Processes, as in life (the service's workers, the offers pipeline): Alembic's context is
    # global to a process.
    code = "import sys; from service.migrations import upgrade; upgrade(sys.argv[1])"
    runs = [
        subprocess.Popen([sys.executable, "-c", code, database], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for run in runs:
        _, err = run.communicate(timeout=120)
        assert run.returncode == 0, err.decode()
    assert current(database) == HEAD
    assert query(database, "SELECT count(*) FROM alembic_version") == [(1,)]
