"""Offers area fixtures: the offers stand-in (reset per test) and a fresh aggregator database."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
import requests

from pipelines.offers.sync import SyncSettings
from sandbox.offers import products
from sandbox.offers.app import DEFAULT_REFRESH_TOKEN
from sandbox.settings import SandboxConfig

REFRESH_TOKEN = DEFAULT_REFRESH_TOKEN  # what the session sandbox's stand-in accepts


class OffersAdmin:
    """The stand-in's /_sandbox controls (not part of the real service)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _call(self, method: str, path: str, body: object = None) -> object:
        response = requests.request(method, f"{self.url}/_sandbox{path}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def settings(self, **values: object) -> None:
        self._call("PUT", "/settings", values)

    def offers(self, product_id: str) -> list[dict]:
        return self._call("GET", f"/products/{product_id}/offers")  # type: ignore[return-value]

    def script(self, product_id: str, offers: list[dict]) -> None:
        self._call("PUT", f"/products/{product_id}/offers", offers)

    def fault(self, product_id: str, status: int) -> None:
        self._call("PUT", f"/products/{product_id}/fault", {"status": status})

    def stats(self) -> dict:
        return self._call("GET", "/stats")  # type: ignore[return-value]

    def expire_token(self) -> None:
        self._call("POST", "/tokens/expire")


@pytest.fixture
def offers_admin(sandbox_cfg: SandboxConfig) -> Iterator[OffersAdmin]:
    admin = OffersAdmin(sandbox_cfg.http_url("offers"))
    admin.reset()
    yield admin
    admin.reset()


@pytest.fixture
def aggregator_db(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    """A new aggregator database, migrated and seeded with the sandbox's five products."""
    name = f"aggregator_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(sandbox_cfg.postgres_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} TEMPLATE template0")  # template1 may be busy
    url = sandbox_cfg.postgres_url(name)
    products.seed(url)
    yield url
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """dlt's retrying client: 2 attempts, short backoff, so a failing product costs little time."""
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")


@pytest.fixture
def sync_settings(
    offers_admin: OffersAdmin, aggregator_db: str, tmp_path: Path
) -> Callable[..., SyncSettings]:
    def make(**overrides: object) -> SyncSettings:
        values: dict = {
            "service_url": offers_admin.url,
            "refresh_token": REFRESH_TOKEN,
            "database_url": aggregator_db,
            "token_cache": tmp_path / "access-token.json",
            **overrides,
        }
        return SyncSettings(**values)

    return make
