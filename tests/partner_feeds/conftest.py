"""Partner feeds fixtures: a private landing folder, archive, DuckDB file and dlt working dir."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest

from pipelines.partner_feeds import PartnerFeedsSettings
from sandbox.settings import SandboxConfig

SAMPLES = Path(__file__).resolve().parents[2] / "sandbox" / "partner_feeds" / "feeds"


@pytest.fixture(autouse=True)
def _offline_dlt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    for var in (
        "PARTNER_FEEDS_DIR",
        "PARTNER_FEEDS_ARCHIVE_DIR",
        "PARTNER_FEEDS_DESTINATION",
        "DATABASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def settings(tmp_path: Path) -> PartnerFeedsSettings:
    return settings_in(tmp_path)


def settings_in(tmp_path: Path) -> PartnerFeedsSettings:
    """Everything of one pipeline under `tmp_path`: landing, archive, DuckDB, dlt working dir."""
    return PartnerFeedsSettings.resolve(
        landing_dir=tmp_path / "landing",
        archive_dir=tmp_path / "archive",
        destination="duckdb",
        duckdb_path=tmp_path / "catalog.duckdb",
        dataset_name="partner_catalog",
        pipelines_dir=tmp_path / "pipelines",
        fail_on_rejects=True,
        settle_seconds=0,  # files a test lands are whole at once (tests/hostile: the settle time)
        registry_path=Path(__file__).resolve().parents[2]
        / "pipelines"
        / "partner_feeds"
        / "partners.yaml",
    )


def land(settings: PartnerFeedsSettings, partner: str, name: str, content: bytes | str) -> Path:
    """Put a feed file into the landing folder, as a partner's upload would."""
    folder = settings.landing_dir / partner
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


class Catalog:
    """Read-only view of the DuckDB destination for assertions."""

    def __init__(self, settings: PartnerFeedsSettings) -> None:
        self.path = settings.duckdb_path
        self.dataset = settings.dataset_name

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        if not self.path.exists():
            return []
        with duckdb.connect(str(self.path), read_only=True) as conn:
            conn.execute(f"SET schema = '{self.dataset}'")
            try:
                return conn.execute(sql, list(params)).fetchall()
            except duckdb.CatalogException:
                return []

    def products(self, partner: str | None = None) -> dict[tuple[str, str], tuple[Any, ...]]:
        sql = (
            "SELECT partner, sku, name, price, stock, currency, description, updated_at"
            " FROM catalog_products"
        )
        rows = self.rows(
            sql + (" WHERE partner = ?" if partner else ""), *([partner] if partner else [])
        )
        return {(r[0], r[1]): r[2:] for r in rows}


@pytest.fixture
def catalog(settings: PartnerFeedsSettings) -> Catalog:
    return Catalog(settings)


def cli_env(settings: PartnerFeedsSettings, **extra: str) -> dict[str, str]:
    """Environment pointing a `python -m pipelines.partner_feeds` or meltano run at `settings`."""
    return {
        **os.environ,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "PARTNER_FEEDS_DIR": str(settings.landing_dir),
        "PARTNER_FEEDS_ARCHIVE_DIR": str(settings.archive_dir),
        "PARTNER_FEEDS_DESTINATION": settings.destination,
        "PARTNER_FEEDS_DUCKDB_PATH": str(settings.duckdb_path),
        "PARTNER_FEEDS_DATASET": settings.dataset_name,
        "PARTNER_FEEDS_PIPELINES_DIR": str(settings.pipelines_dir),
        "PARTNER_FEEDS_SETTLE_SECONDS": str(settings.settle_seconds),
        **extra,
    }


@pytest.fixture
def postgres_settings(
    sandbox_cfg: SandboxConfig, settings: PartnerFeedsSettings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PartnerFeedsSettings]:
    """A fresh database in the sandbox Postgres, reached through DATABASE_URL."""
    database = f"partner_feeds_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(sandbox_cfg.postgres_url("postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{database}"')
    # the sandbox's URL has no password (trust auth), as a DATABASE_URL may
    monkeypatch.setenv(
        "DATABASE_URL", sandbox_cfg.postgres_url(database, driver="postgresql+psycopg2")
    )
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS", raising=False)
    yield PartnerFeedsSettings(**{**settings.__dict__, "destination": "postgres"})
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
    admin.close()
