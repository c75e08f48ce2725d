"""The database stops under the running service, then comes back: 503 JSON, then answers again.

A Postgres server of its own (not the session's), so stopping it disturbs no other test.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sandbox import postgres
from sandbox.settings import HOST, free_port
from service.core.db import RECONNECT_S
from tests.conftest import sandbox_root
from tests.service.conftest import RunningService
from tests.service.test_customers_api import assert_error

pytestmark = pytest.mark.e2e


class OwnPostgres:
    def __init__(self, root: Path) -> None:
        self.data_dir, self.port, self.log = root / "pg", free_port(), root / "pg.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def start(self) -> None:
        postgres.start(self.data_dir, self.port, self.log)

    def stop(self) -> None:
        postgres.stop(self.data_dir)


@pytest.fixture(scope="module")
def own_postgres() -> Iterator[OwnPostgres]:
    root = sandbox_root()
    server = OwnPostgres(root)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_database_away_then_back(
    own_postgres: OwnPostgres, service_factory: Callable[..., RunningService]
) -> None:
    service = service_factory(own_postgres.url, DB_CONNECT_TIMEOUT_S="1")
    product = service.call("POST", "/products", json={"name": "Grinder"}).json()
    some_id = product["id"]
    assert service.call("GET", "/health", key=None).status_code == 200

    own_postgres.stop()
    calls = [
        ("GET", "/health", None),
        ("GET", "/api/health", None),
        ("GET", "/api/customers", None),
        ("GET", "/api/customers/CUST001", None),
        ("POST", "/api/ingest", "default"),
        ("GET", "/products", None),
        ("GET", f"/products/{some_id}", None),
        ("GET", f"/products/{some_id}/offers", None),
        ("POST", "/products", "default"),
        ("PUT", f"/products/{some_id}", "default"),
        ("DELETE", f"/products/{uuid.uuid4()}", "default"),
    ]
    for method, path, key in calls:
        response = service.call(method, path, key=key, json={"name": "n"})
        assert_error(response, 503, "DatabaseUnavailable")

    own_postgres.start()
    # The pool finds the database again within seconds (RECONNECT_S bounds its backoff).
    deadline = time.monotonic() + RECONNECT_S + 10
    while (health := service.call("GET", "/health", key=None)).status_code != 200:
        assert_error(health, 503, "DatabaseUnavailable")
        assert time.monotonic() < deadline, "the service did not find the database again"
        time.sleep(0.5)
    assert health.json() == {"status": "ok", "database": "ok"}
    assert service.call("GET", f"/products/{some_id}", key=None).json() == product
    assert service.call("GET", "/api/customers", key=None).status_code == 200
    assert service.process.poll() is None  # the same process: nothing was restarted
    log = service.log()
    assert "DatabaseUnavailable" in log
    assert "Traceback" not in log
