"""The Dagster definitions: one asset per meltano job, the customers pipeline as dlt assets,
meltano.yml's schedules, and per-tenant partitions (`dagster dev -m orchestrate.definitions`).

Everything is read from the meltano project when the module loads (`meltano job list`,
`meltano schedule list`, tenants.yml), so a job or schedule added to meltano.yml appears here
without a second definition.
"""

# No `from __future__ import annotations` here: Dagster reads the run config's class from
# the asset function's annotation, which must be the class itself, not a string.
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import dlt
from dagster_dlt import DagsterDltResource, DagsterDltTranslator, dlt_assets
from dagster_dlt.translator import DltResourceTranslatorData
from pydantic import Field

from orchestrate import project
from orchestrate.project import PROJECT_ROOT, Schedule, Tenants
from pipelines.customers import customers_source
from pipelines.customers.pipeline import prepared
from pipelines.customers.settings import DEFAULT_DATASET, ENV_ALIASES, PIPELINE_NAME
from pipelines.dlt_project import aliased_env

# meltano jobs that are a dlt pipeline Dagster runs in-process through dagster-dlt. The
# offers and partner-feeds pipelines do more than one dlt load (per-product reconcile, the
# feed ledger and archive), so they run as their meltano jobs like the Singer flows.
DLT_JOBS = ("customers",)


class MeltanoRun(dg.Config):
    """Run config of a meltano job asset."""

    environment: str | None = Field(
        default=None,
        description="meltano environment (default: MELTANO_ENVIRONMENT, else meltano.yml's)",
    )
    full_refresh: bool = Field(
        default=False, description="ignore the saved state: `meltano run --full-refresh`"
    )


def meltano_job_asset(job: str, tenants: Tenants | None = None) -> dg.AssetsDefinition:
    """`meltano run <job>` under Pipes; partitioned by tenant when the job has tenants."""
    partitions = dg.StaticPartitionsDefinition(tenants.names) if tenants else None

    @dg.asset(
        key=dg.AssetKey(job),
        group_name="meltano",
        kinds={"meltano"},
        partitions_def=partitions,
        description=f"`meltano run {job}`" + (" per tenant" if tenants else ""),
        op_tags={"meltano/job": job},
    )
    def meltano_job(
        context: dg.AssetExecutionContext, config: MeltanoRun, pipes: dg.PipesSubprocessClient
    ) -> Any:
        command = [sys.executable, "-m", "orchestrate.run_job", job]
        if config.environment:
            command += ["--environment", config.environment]
        if config.full_refresh:
            command.append("--full-refresh")
        env = {"CONNECTOR_RUN_ID": context.run_id[:12]}  # the plugins' log lines carry it
        if tenants is not None:
            tenant = context.partition_key
            command += ["--state-id-suffix", tenant]
            env.update(tenants.env(tenant))
        return pipes.run(
            context=context, command=command, env=env, cwd=str(PROJECT_ROOT)
        ).get_materialize_result()

    return meltano_job


class JobNamedAssets(DagsterDltTranslator):
    """A dlt resource's asset is named after the table (the customers job's name)."""

    def get_asset_spec(self, data: DltResourceTranslatorData) -> dg.AssetSpec:
        spec = super().get_asset_spec(data)
        return spec.replace_attributes(
            key=dg.AssetKey(data.resource.name), deps=[], group_name="dlt"
        )


DEFINITION_PIPELINES = tempfile.TemporaryDirectory(prefix="dagster-dlt-definitions-")


def customers_assets() -> dg.AssetsDefinition:
    """The customers pipeline through dagster-dlt, with the same pipeline and source as its CLI."""
    destination: str = dlt.config.get("sources.customers.destination") or "duckdb"
    # This pipeline only names the assets; the run builds its own in the real working folder.
    # It lives in a folder of this process: dlt wipes and re-creates a pipeline folder that
    # has no state yet, so every process loading these definitions (each Dagster run does)
    # would race the others, and a first run's packages, in the shared one.
    definition_pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=destination,
        dataset_name=DEFAULT_DATASET,
        pipelines_dir=DEFINITION_PIPELINES.name,
    )

    @dlt_assets(
        dlt_source=customers_source(base_url=""),  # resources only; the run builds its own
        dlt_pipeline=definition_pipeline,
        name="customers_pipeline",
        dagster_dlt_translator=JobNamedAssets(),
    )
    def customers(context: dg.AssetExecutionContext, dlt: DagsterDltResource) -> Iterator[Any]:
        with aliased_env(ENV_ALIASES, "customers"), prepared() as (pipeline, source, file_format):
            yield from dlt.run(
                context,
                dlt_source=source,
                dlt_pipeline=pipeline,
                dagster_dlt_translator=JobNamedAssets(),
                loader_file_format=file_format,
            )

    return customers


def schedule_for(schedule: Schedule, tenants: Tenants | None) -> dg.ScheduleDefinition:
    """meltano's schedule as Dagster's: same cron, same job; one run per tenant if it has any."""
    name = schedule.name.replace("-", "_")
    target = dg.AssetSelection.assets(dg.AssetKey(schedule.job))
    description = f"meltano schedule {schedule.name}: job {schedule.job}"
    if tenants is None:
        return dg.ScheduleDefinition(
            name=name, cron_schedule=schedule.cron, target=target, description=description
        )

    @dg.schedule(name=name, cron_schedule=schedule.cron, target=target, description=description)
    def every_tenant(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        tick = context.scheduled_execution_time.isoformat()
        for tenant in tenants.names:  # a run key per tick: Dagster launches a key only once
            yield dg.RunRequest(run_key=f"{tenant}@{tick}", partition_key=tenant)

    return every_tenant


def build_definitions(tenants_file: Path | None = None) -> dg.Definitions:
    jobs = project.jobs()
    by_job = project.tenants(tenants_file)
    for job in by_job:
        if job not in jobs or job in DLT_JOBS:
            raise ValueError(f"tenants for {job}: not a meltano job run through `meltano run`")
    assets: list[dg.AssetsDefinition] = [
        meltano_job_asset(job, by_job.get(job)) for job in jobs if job not in DLT_JOBS
    ]
    assets.append(customers_assets())
    return dg.Definitions(
        assets=assets,
        schedules=[schedule_for(s, by_job.get(s.job)) for s in project.schedules()],
        resources={"pipes": dg.PipesSubprocessClient(), "dlt": DagsterDltResource()},
    )


defs = build_definitions()
