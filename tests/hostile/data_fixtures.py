"""Fixtures shared by the data-side hostile-input tests (imported by each module that uses them).

Real servers only: a fresh database in the session sandbox's Postgres, and the partner feeds
pipeline pointed at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from pipelines.partner_feeds import PartnerFeedsSettings
from sandbox.settings import PROJECT_ROOT, SandboxConfig


@pytest.fixture
def fresh_db(sandbox_cfg: SandboxConfig) -> Iterator[str]:
    """A new, empty database in the sandbox Postgres, dropped afterwards."""
    name = f"hostile_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(sandbox_cfg.postgres_url())
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name} TEMPLATE template0")
    yield sandbox_cfg.postgres_url(name)
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def query(url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = psycopg2.connect(url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def feeds_settings(tmp_path: Path, destination: str = "postgres") -> PartnerFeedsSettings:
    return PartnerFeedsSettings.resolve(
        landing_dir=tmp_path / "landing",
        archive_dir=tmp_path / "archive",
        destination=destination,
        duckdb_path=tmp_path / "catalog.duckdb",
        dataset_name="partner_catalog",
        pipelines_dir=tmp_path / "pipelines",
        fail_on_rejects=True,
        settle_seconds=0,  # files a test lands are whole at once (test_unsettled_files: the wait)
        registry_path=PROJECT_ROOT / "pipelines" / "partner_feeds" / "partners.yaml",
    )


def land(settings: PartnerFeedsSettings, partner: str, name: str, content: bytes) -> Path:
    folder = settings.landing_dir / partner
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content)
    return path


def feeds_cli(settings: PartnerFeedsSettings, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m pipelines.partner_feeds` as an operator runs it, pointed at `settings`."""
    return subprocess.run(
        [sys.executable, "-m", "pipelines.partner_feeds"],
        cwd=PROJECT_ROOT,
        env={
            **os.environ,
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "PARTNER_FEEDS_DIR": str(settings.landing_dir),
            "PARTNER_FEEDS_ARCHIVE_DIR": str(settings.archive_dir),
            "PARTNER_FEEDS_DESTINATION": settings.destination,
            "PARTNER_FEEDS_DUCKDB_PATH": str(settings.duckdb_path),
            "PARTNER_FEEDS_DATASET": settings.dataset_name,
            "PARTNER_FEEDS_PIPELINES_DIR": str(settings.pipelines_dir),
            "PARTNER_FEEDS_SETTLE_SECONDS": str(settings.settle_seconds),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(autouse=True)
def _partner_feeds_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")
    for var in ("PARTNER_FEEDS_DIR", "PARTNER_FEEDS_ARCHIVE_DIR", "PARTNER_FEEDS_DESTINATION"):
        monkeypatch.delenv(var, raising=False)
