"""Customers area fixtures: the customer API stand-in of the session sandbox, reset per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg2
import pytest
import requests

from sandbox.settings import SandboxConfig


@pytest.fixture
def customers_api(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    url = sandbox_cfg.http_url("customers")
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()
    yield url
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()


@pytest.fixture
def fresh_postgres_db(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    """A new, empty database in the sandbox Postgres (dropped afterwards)."""
    name = f"customers_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(sandbox_cfg.postgres_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} TEMPLATE template0")  # template1 may be busy
    yield sandbox_cfg.postgres_url(name)
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()
