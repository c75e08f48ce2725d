"""`python -m pipelines.customers [--destination duckdb|postgres]`: one full sync."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from connector_kit import logs
from connector_kit.logs import kv
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.customers.pipeline import run
from pipelines.customers.settings import ENV_ALIASES
from pipelines.dlt_project import aliased_env

log = logging.getLogger("pipelines.customers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.customers", description=__doc__)
    parser.add_argument(
        "--destination", help="duckdb (default) or postgres; else sources.customers.destination"
    )
    parser.add_argument("--dataset", help="dataset (schema) name; default customer_data")
    args = parser.parse_args(argv)
    logs.configure()
    with aliased_env(ENV_ALIASES, "customers"):
        logs.register_secret(os.environ.get("DESTINATION__POSTGRES__CREDENTIALS"))
        try:
            run(destination=args.destination, dataset_name=args.dataset)
        except PipelineStepFailed as exc:
            log.error(
                "sync failed %s", kv(pipeline="customers", step=exc.step, error=exc.exception)
            )
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
