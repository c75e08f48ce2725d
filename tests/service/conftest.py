"""Service fixtures: the real app (`python -m service`, uvicorn) on a free port over a fresh
database in the session sandbox's Postgres, with the customer API and offers stand-ins."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from sandbox.settings import OFFERS_REFRESH_TOKEN, SandboxConfig, free_port
from tests.offers.conftest import OffersAdmin

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RunningService:
    url: str
    api_key: str
    database_url: str
    data_dir: Path
    log_file: Path
    process: subprocess.Popen[bytes]
    session: requests.Session = field(default_factory=requests.Session)
    admin_key: str = ""
    env: dict[str, str] = field(default_factory=dict)  # what it was started with

    def call(
        self, method: str, path: str, *, key: str | None = "default", **kwargs: object
    ) -> requests.Response:
        """A request to the service; `key` None sends no X-API-Key, "default" the right one."""
        headers = dict(kwargs.pop("headers", None) or {})  # type: ignore[call-overload]
        if key is not None:
            headers["X-API-Key"] = self.api_key if key == "default" else key
        return self.session.request(method, self.url + path, headers=headers, timeout=120, **kwargs)

    def log(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def create_database(sandbox_cfg: SandboxConfig, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(sandbox_cfg.postgres_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} TEMPLATE template0")  # template1 may be busy
    admin.close()
    return sandbox_cfg.postgres_url(name)


def drop_database(sandbox_cfg: SandboxConfig, url: str) -> None:
    admin = psycopg2.connect(sandbox_cfg.postgres_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")
    admin.close()


def start_service(
    sandbox_cfg: SandboxConfig, database_url: str, workdir: Path, **extra_env: str
) -> RunningService:
    """`python -m service` as a user runs it, configured only through the environment."""
    port, api_key = free_port(), "svc-" + secrets.token_urlsafe(24)
    workdir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CUSTOMERS_API_URL": sandbox_cfg.http_url("customers"),
        "OFFERS_SERVICE_URL": sandbox_cfg.http_url("offers"),
        "OFFERS_REFRESH_TOKEN": OFFERS_REFRESH_TOKEN,
        "SERVICE_API_KEY": api_key,
        "ADMIN_API_KEY": "adm-" + secrets.token_urlsafe(24),
        "APP_SECRET_KEY": secrets.token_urlsafe(32),
        "SERVICE_PORT": str(port),
        "DLT_DATA_DIR": str(workdir / "dlt"),
        # dlt's retrying client: 2 attempts, short backoff, so a failing source answers fast
        "RUNTIME__REQUEST_MAX_ATTEMPTS": "2",
        "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.05",
        "LOG_LEVEL": "INFO",
        **extra_env,
    }
    log_file = workdir / "service.log"
    with log_file.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "service"], cwd=workdir, env=env, stdout=out, stderr=out
        )
    service = RunningService(
        f"http://127.0.0.1:{port}", api_key, database_url, workdir / "dlt", log_file, process
    )
    service.admin_key = env["ADMIN_API_KEY"]
    service.env = {k: v for k, v in env.items() if k not in os.environ or os.environ[k] != v}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"service exited {process.returncode}:\n{service.log()}")
        try:
            if requests.get(service.url + "/health", timeout=1).status_code == 200:
                return service
        except requests.RequestException:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"service did not start:\n{service.log()}")


def stop_service(service: RunningService) -> None:
    service.session.close()
    service.process.terminate()
    try:
        service.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        service.process.kill()
        service.process.wait()


@pytest.fixture(scope="module")
def service_factory(
    sandbox_cfg: SandboxConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., RunningService]]:
    """Start services over fresh databases; all stopped and dropped at the end of the module."""
    started: list[tuple[RunningService, bool]] = []

    def start(
        database_url: str | None = None, scheme: str = "postgresql", **extra_env: str
    ) -> RunningService:
        """`scheme` is how DATABASE_URL is spelt to the service (postgres, postgresql+asyncpg)."""
        url = database_url or create_database(sandbox_cfg, "service")
        extra_env.setdefault("DATABASE_URL", scheme + url[url.index("://") :])
        service = start_service(sandbox_cfg, url, tmp_path_factory.mktemp("service"), **extra_env)
        started.append((service, database_url is None))
        return service

    yield start
    for service, own_database in started:
        stop_service(service)
        if own_database:
            drop_database(sandbox_cfg, service.database_url)


@pytest.fixture
def customers_api(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    """The customer API stand-in, reset before and after the test."""
    url = sandbox_cfg.http_url("customers")
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()
    yield url
    requests.post(f"{url}/_sandbox/reset", timeout=5).raise_for_status()


@pytest.fixture
def offers_admin(sandbox_cfg: SandboxConfig) -> Iterator[OffersAdmin]:
    admin = OffersAdmin(sandbox_cfg.http_url("offers"))
    admin.reset()
    yield admin
    admin.reset()


@pytest.fixture
def start_worker() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Real `python -m service.worker` processes with the service's settings (and `extra_env`);
    its output goes to worker.log beside the service's log."""
    workers: list[subprocess.Popen[bytes]] = []

    def start(service: RunningService, **extra_env: str) -> subprocess.Popen[bytes]:
        log = (service.log_file.parent / "worker.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "service.worker"],
            env={**os.environ, **service.env, **extra_env},
            stdout=log,
            stderr=log,
        )
        workers.append(process)
        return process

    yield start
    for process in workers:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def metric_values(service: RunningService) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics (admin key) parsed with prometheus-client: (name, sorted labels) -> value."""
    response = service.call("GET", "/metrics", key=None, headers={"X-Admin-Key": service.admin_key})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }
