"""The Dagster definitions mirror the meltano project: its jobs, dlt pipelines and schedules."""

from __future__ import annotations

import json
import subprocess
import sys

import dagster as dg

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
