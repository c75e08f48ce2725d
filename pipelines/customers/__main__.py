"""`python -m pipelines.customers [--destination duckdb|postgres]`: one full sync."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from connector_kit import logs
from connector_kit.deadletter import rejects_exit_code

from pipelines.customers.pipeline import row_count, run
from pipelines.customers.settings import ENV_ALIASES, REJECTS_TABLE
from pipelines.dlt_project import aliased_env, run_entry

log = logging.getLogger("pipelines.customers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.customers", description=__doc__)
    parser.add_argument(
        "--destination", help="duckdb (default) or postgres; else sources.customers.destination"
    )
    parser.add_argument("--dataset", help="dataset (schema) name; default customer_data")
    args = parser.parse_args(argv)

    def sync_once() -> int:
        with aliased_env(ENV_ALIASES, "customers"):
            logs.register_secret(os.environ.get("DESTINATION__POSTGRES__CREDENTIALS"))
            info = run(destination=args.destination, dataset_name=args.dataset)
        rejected = row_count(info, REJECTS_TABLE)
        return rejects_exit_code(rejected, log=log, table=REJECTS_TABLE)

    return run_entry("customers", sync_once)


if __name__ == "__main__":
    sys.exit(main())
