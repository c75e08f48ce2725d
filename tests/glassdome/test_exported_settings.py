"""MES_DATABASE_URL and GLASSDOME_API_URL, exported, win over the sandbox in the default environment.

The literal `meltano run tap-mes target-glassdome`, with no --environment and no
MELTANO_ENVIRONMENT, against a second MES database and a second Glassdome stand-in.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg2
import pytest

from sandbox import mes
from sandbox.settings import SandboxConfig
from tests.glassdome.conftest import GlassdomeApi, expected_products, meltano_run

pytestmark = pytest.mark.e2e


def sandbox_products(cfg: SandboxConfig) -> list[tuple[Any, ...]]:
    with psycopg2.connect(cfg.postgres_url("glassdome")) as conn, conn.cursor() as cur:
        cur.execute("SELECT * FROM products ORDER BY company_id, external_id")
        rows = cur.fetchall()
    conn.close()
    return rows


def test_exported_mes_and_glassdome_urls_win_over_the_sandbox(
    dev_env: dict[str, str],
    sandbox_cfg: SandboxConfig,
    mes_url: str,
    glassdome: GlassdomeApi,
    tmp_path: Path,
) -> None:
    mes.generate(mes_url, orders=60, materials=30)  # materials only this database has
    env = {
        **dev_env,
        "MES_DATABASE_URL": mes_url,
        "GLASSDOME_API_URL": glassdome.url,
        "TAP_MES_BATCH_CONFIG_STORAGE_ROOT": str(tmp_path / "batches"),
        "TARGET_GLASSDOME_DEAD_LETTER_PATH": str(tmp_path / "dead-letter" / "glassdome.jsonl"),
    }
    assert "MELTANO_ENVIRONMENT" not in env
    before = sandbox_products(sandbox_cfg)

    run = meltano_run("tap-mes", "target-glassdome", env=env)

    assert run.returncode == 0, run.output[-3000:]
    expected = expected_products(mes_url)
    assert sum(m.startswith("GEN-") for m in expected) == 30
    assert glassdome.products() == expected
    assert sandbox_products(sandbox_cfg) == before
    database = mes_url.rsplit("/", 1)[1]
    port = sandbox_cfg.port("postgres")
    assert (
        "connections plugin=tap-mes environment=dev"
        f" sqlalchemy_url=postgresql://127.0.0.1:{port}/{database}"
    ) in run.output
    assert f"connections plugin=target-glassdome environment=dev api_url={glassdome.url}" in (
        run.output
    )
