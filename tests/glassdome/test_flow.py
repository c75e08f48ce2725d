"""End to end through the real meltano CLI: MES Postgres -> tap-mes -> translation -> Glassdome."""

from __future__ import annotations

from pathlib import Path

import psycopg2
import pytest

from sandbox import mes
from tests.conftest import summaries
from tests.glassdome.conftest import (
    SEED_PRODUCTS,
    GlassdomeApi,
    expected_products,
    future,
    meltano_run,
)

pytestmark = pytest.mark.e2e


def test_first_run_creates_all_then_noop_then_only_ten_move(
    flow_env: dict[str, str], glassdome: GlassdomeApi, mes_url: str
) -> None:
    mes.generate(mes_url, orders=400, materials=200)
    seed_row = {row[0]: row for row in glassdome.rows()}["MAT-1001"]

    first = meltano_run("tap-mes", "target-glassdome", env=flow_env)

    assert first.returncode == 0, first.output[-3000:]
    expected = expected_products(mes_url)
    assert len(expected) == 208
    assert glassdome.products() == expected
    summary = first.summary()
    assert (summary["inserted"], summary["updated"], summary["rejected"]) == ("207", "1", "0")
    # The products travelled as BATCH files, which the target deleted once written.
    assert "0 records, 1 batch manifests" in first.output
    assert list(Path(flow_env["TAP_MES_BATCH_CONFIG_STORAGE_ROOT"]).iterdir()) == []
    after_first = {row[0]: row for row in glassdome.rows()}
    # MAT-1001 was PATCHed: same row (create_time kept), new sku, later update_time.
    assert after_first["MAT-1001"][1] == seed_row[1]
    assert after_first["MAT-1001"][2] > seed_row[2]

    second = meltano_run("tap-mes", "target-glassdome", env=flow_env)

    assert second.returncode == 0, second.output[-3000:]
    assert (second.summary()["inserted"], second.summary()["updated"]) == ("0", "0")
    assert {row[0]: row for row in glassdome.rows()} == after_first

    moved = sorted(m for m in expected if m.startswith("GEN-"))[:10]
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        for i, material in enumerate(moved):
            new_status = "discontinued" if expected[material][1] != "DISCONTINUED" else "released"
            cur.execute(
                "UPDATE production_orders SET status = %s, updated_at = %s"
                " WHERE order_id = (SELECT min(order_id) FROM production_orders"
                " WHERE material_number = %s)",
                (new_status, future(i), material),
            )
    conn.close()

    third = meltano_run("tap-mes", "target-glassdome", env=flow_env)

    assert third.returncode == 0, third.output[-3000:]
    assert (third.summary()["inserted"], third.summary()["updated"]) == ("0", "10")
    after_third = {row[0]: row for row in glassdome.rows()}
    changed = sorted(m for m in after_third if after_third[m] != after_first[m])
    assert changed == moved
    assert glassdome.products() == expected_products(mes_url)


def test_job_through_the_mapper_plugin_yields_the_same_state(
    flow_env: dict[str, str], glassdome: GlassdomeApi
) -> None:
    # The job's one task is `tap-mes mes-to-glassdome target-glassdome`.
    run = meltano_run("glassdome", env=flow_env)

    assert run.returncode == 0, run.output[-3000:]
    assert glassdome.products() == SEED_PRODUCTS
    mapped = [s for s in summaries(run.output) if s["stage"] == "map-mes-glassdome"]
    assert len(mapped) == 1
    assert mapped[0]["emitted"] > 0
