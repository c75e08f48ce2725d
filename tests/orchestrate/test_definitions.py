"""The Dagster definitions mirror the meltano project: its jobs, dlt pipelines and schedules."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import dagster as dg
import pytest

from orchestrate.definitions import (
    build_definitions,
    customers_assets,
    meltano_job_asset,
    schedule_for,
)
from orchestrate.project import TENANTS_FILE, Schedule, Tenants, tenants
from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN, run_meltano


def meltano_json(*args: str) -> dict:
    result = run_meltano(*args, "--format=json", env={"PATH": str(VENV_BIN)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_dagster_validates_the_module() -> None:
    result = subprocess.run(
        [str(VENV_BIN / "dagster"), "definitions", "validate", "-m", "orchestrate.definitions"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_every_job_and_dlt_pipeline_is_an_asset(definitions: dg.Definitions) -> None:
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    jobs = {job["job_name"] for job in meltano_json("job", "list")["jobs"]}
    pipelines = {
        path.parent.name.replace("_", "-")
        for path in (PROJECT_ROOT / "pipelines").glob("*/pipeline.py")
    }
    assert jobs, "meltano lists no jobs"
    assert {"customers", "offers", "partner-feeds"} <= pipelines
    assert keys == jobs | pipelines


def test_customers_runs_as_dlt_assets_and_the_rest_as_meltano_jobs(
    definitions: dg.Definitions,
) -> None:
    graph = definitions.resolve_asset_graph()
    kinds = {key.to_user_string(): graph.get(key).kinds for key in graph.get_all_asset_keys()}
    assert "dlt" in kinds["customers"]
    assert all("meltano" in k for name, k in kinds.items() if name != "customers")


def test_schedules_equal_meltano_yml(definitions: dg.Definitions) -> None:
    meltano = {
        (s["name"].replace("-", "_"), s["cron_interval"], s["job"]["name"])
        for s in meltano_json("schedule", "list")["schedules"]["job"]
    }
    repository = definitions.get_repository_def()
    dagster = set()
    for schedule in repository.schedule_defs:
        job = repository.get_job(schedule.job_name)
        targets = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
        assert len(targets) == 1, targets
        dagster.add((schedule.name, schedule.cron_schedule, targets.pop()))
    assert meltano
    assert dagster == meltano


TENANTS = Tenants(
    "glassdome",
    {t: {"GLASSDOME_API_KEY": f"${t.upper()}_KEY", "BATCH": "50"} for t in ("acme", "globex")},
)


def test_a_tenant_schedule_runs_every_tenant() -> None:
    schedule = schedule_for(Schedule("glassdome-hourly", "glassdome", "0 * * * *"), TENANTS)
    repository = dg.Definitions(
        assets=[meltano_job_asset("glassdome", TENANTS)],
        schedules=[schedule],
        resources={"pipes": dg.PipesSubprocessClient()},
    ).get_repository_def()
    tick = dg.build_schedule_context(
        repository_def=repository,
        scheduled_execution_time=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )
    resolved = repository.get_schedule_def("glassdome_hourly")
    requests = list(resolved.evaluate_tick(tick).run_requests or [])
    assert resolved.cron_schedule == "0 * * * *"
    assert sorted(r.partition_key for r in requests) == ["acme", "globex"]
    assert len({r.run_key for r in requests}) == 2


def test_tenant_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACME_KEY", "secret-acme")
    monkeypatch.delenv("GLOBEX_KEY", raising=False)
    assert TENANTS.env("acme") == {"GLASSDOME_API_KEY": "secret-acme", "BATCH": "50"}
    with pytest.raises(LookupError, match=r"GLASSDOME_API_KEY refers to \$GLOBEX_KEY"):
        TENANTS.env("globex")


def test_tenants_file_lists_tenants_by_job(tmp_path) -> None:
    path = tmp_path / "tenants.yml"
    path.write_text("glassdome:\n  acme:\n    MES_DATABASE_URL: $ACME_MES\nmes-warehouse:\n")
    assert tenants(path) == {
        "glassdome": Tenants("glassdome", {"acme": {"MES_DATABASE_URL": "$ACME_MES"}})
    }
    assert tenants(TENANTS_FILE) == {}  # the committed file: every job single-tenant


def test_a_job_with_tenants_is_partitioned_and_scheduled_per_tenant(tmp_path) -> None:
    path = tmp_path / "tenants.yml"
    path.write_text("glassdome:\n  acme: {}\n  globex: {}\n")
    defs = build_definitions(path)
    glassdome = defs.resolve_assets_def("glassdome")
    assert glassdome.partitions_def is not None
    assert glassdome.partitions_def.get_partition_keys() == ["acme", "globex"]
    assert defs.resolve_assets_def("mes-warehouse").partitions_def is None

    path.write_text("customers:\n  acme: {}\n")  # runs in-process through dlt: no tenants
    with pytest.raises(ValueError, match="tenants for customers"):
        build_definitions(path)


def test_loading_the_definitions_leaves_the_pipelines_folder_alone(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Dagster run loads the definitions: that must not create (or, with no state yet,
    wipe) the customers pipeline's working folder, which a run may be filling."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path))
    assets = customers_assets()
    assert assets.keys  # the dlt resources became assets
    assert not (tmp_path / "pipelines").exists()
