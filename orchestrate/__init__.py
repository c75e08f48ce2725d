"""The meltano jobs and dlt pipelines as Dagster assets: `dagster dev -m orchestrate.definitions`.

meltano.yml stays the source of truth: jobs, schedules and plugins are read from it when the
definitions load; this package only says how Dagster runs them (see README, "Running on Dagster").
"""
