"""Jobs materialised in-process (`dagster.materialize`) against the test sandbox."""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg
import duckdb
import psycopg2
import pytest
import requests
from dagster_dlt import DagsterDltResource

from orchestrate.definitions import customers_assets, meltano_job_asset
from orchestrate.project import Tenants
from sandbox import mes
from sandbox.customers import DATA_FILE
from sandbox.settings import SandboxConfig
from tests.conftest import run_meltano
from tests.glassdome.conftest import (
    SEED_PRODUCTS,
    GlassdomeApi,
    create_database,
    drop_database,
    expected_products,
)
from tests.orchestrate.conftest import run_logs

pytestmark = pytest.mark.e2e
RESOURCES = {"pipes": dg.PipesSubprocessClient(), "dlt": DagsterDltResource()}


def company_products(glassdome: GlassdomeApi, company: str) -> dict[str, tuple[str, str]]:
    with psycopg2.connect(glassdome.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT external_id, sku, status FROM products"
            " WHERE company_id = %s AND delete_time IS NULL",
            (company,),
        )
        rows = cur.fetchall()
    conn.close()
    return {external_id: (sku, status) for external_id, sku, status in rows}


def materialization(result: dg.ExecuteInProcessResult) -> dict:
    [event] = result.get_asset_materialization_events()
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_glassdome_job_materialises(
    flow_env: dict[str, str],
    glassdome: GlassdomeApi,
    mes_url: str,
    use_env,
    monkeypatch: pytest.MonkeyPatch,
    instance,
) -> None:
    use_env(flow_env)
    monkeypatch.delenv("MELTANO_ENVIRONMENT")  # the run config chooses it (dev: another sandbox)
    config = {"environment": "prod", "full_refresh": True}
    result = dg.materialize(
        [meltano_job_asset("glassdome")],
        resources=RESOURCES,
        instance=instance,
        run_config=dg.RunConfig({"glassdome": {"config": config}}),
    )
    assert result.success
    assert "meltano --environment prod run --full-refresh glassdome" in run_logs(instance, result)
    assert glassdome.products() == expected_products(mes_url)
    metadata = materialization(result)
    # MAT-1001 is already in the Glassdome seed (another SKU): one update, the rest inserted
    assert (metadata["inserted"], metadata["updated"], metadata["rejected"]) == (7, 1, 0)
    [target] = [s for s in metadata["summaries"] if s["stage"].startswith("target-glassdome")]
    assert target["stream"] == "products"
    assert target["received"] == len(SEED_PRODUCTS)


def test_failing_job_is_a_failed_run_with_its_errors(
    flow_env: dict[str, str], use_env, instance
) -> None:
    use_env({**flow_env, "GLASSDOME_API_KEY": "pat_unknown_key"})
    result = dg.materialize(
        [meltano_job_asset("glassdome")],
        resources=RESOURCES,
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    assert result.get_asset_materialization_events() == []
    logs = "\n".join(run_logs(instance, result))
    assert '"stage":"tap_mes.bulk","stream":"material_latest"' in logs  # the job's summary ...
    assert "HTTP 401" in logs  # ... its last error lines ...
    assert "job glassdome failed: meltano exited with 1" in logs  # ... and the verdict
    assert "pat_unknown_key" not in logs


def test_tenants_are_partitions_with_their_own_state_and_company(
    sandbox_cfg: SandboxConfig,
    flow_env: dict[str, str],
    glassdome: GlassdomeApi,
    mes_url: str,
    use_env,
    instance,
) -> None:
    other_mes = create_database(sandbox_cfg, "mes_tenant")
    try:
        mes.create_schema(other_mes, with_seed=False)
        mes.generate(other_mes, orders=20, materials=4)
        use_env(
            {
                **flow_env,
                "ACME_MES_DATABASE_URL": mes_url,
                "ACME_GLASSDOME_API_KEY": "pat_cp1_xoxo",  # company_1
                "GLOBEX_MES_DATABASE_URL": other_mes,
                "GLOBEX_GLASSDOME_API_KEY": "pat_cp2_xoxo",  # company_2
                "GLASSDOME_API_KEY": "not-a-tenant-key",  # must not be used
            }
        )
        tenants = Tenants(
            "glassdome",
            {
                name: {
                    "MES_DATABASE_URL": f"${name.upper()}_MES_DATABASE_URL",
                    "GLASSDOME_API_KEY": f"${name.upper()}_GLASSDOME_API_KEY",
                }
                for name in ("acme", "globex")
            },
        )
        asset = meltano_job_asset("glassdome", tenants)
        for tenant in tenants.names:
            result = dg.materialize(
                [asset], partition_key=tenant, resources=RESOURCES, instance=instance
            )
            assert result.success, tenant
            assert materialization(result)["inserted"] > 0

        acme, globex = (company_products(glassdome, c) for c in ("company_1", "company_2"))
        assert acme == expected_products(mes_url)
        assert set(globex) == {f"GEN-{i:07d}" for i in range(4)}
        assert not set(acme) & set(globex)

        def state(tenant: str) -> dict:
            got = run_meltano(
                "state", "get", f"prod:tap-mes-to-target-glassdome:{tenant}", env=flow_env
            )
            assert got.returncode == 0, got.stderr
            return json.loads(got.stdout)["singer_state"]

        with ThreadPoolExecutor() as pool:
            states = dict(zip(tenants.names, pool.map(state, tenants.names), strict=True))
        assert states["acme"] != states["globex"]
        assert all(
            s["bookmarks"]["material_latest"]["replication_key_value"] for s in states.values()
        )
    finally:
        drop_database(sandbox_cfg, other_mes)


def test_customers_pipeline_materialises_as_dlt_assets(
    sandbox_cfg: SandboxConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, instance
) -> None:
    api = sandbox_cfg.http_url("customers")
    requests.post(f"{api}/_sandbox/reset", timeout=5).raise_for_status()
    monkeypatch.setenv("CUSTOMERS_API_URL", api)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SOURCES__CUSTOMERS__BASE_URL", raising=False)

    result = dg.materialize([customers_assets()], resources=RESOURCES, instance=instance)
    assert result.success
    with duckdb.connect(str(tmp_path / "customers.duckdb"), read_only=True) as con:
        ids = {
            row[0] for row in con.sql("SELECT customer_id FROM customer_data.customers").fetchall()
        }
    assert ids == {c["customer_id"] for c in json.loads(DATA_FILE.read_text())}
    metadata = materialization(result)
    assert metadata["rows_loaded"] == len(ids)
    assert metadata["dataset_name"] == "customer_data"
    assert "SOURCES__CUSTOMERS__BASE_URL" not in os.environ  # the run's aliases are undone
