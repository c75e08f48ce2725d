"""`python -m pipelines.customers [--destination duckdb|postgres]`: one full sync."""

from __future__ import annotations

import argparse
import os
import sys

from connector_kit import logs

from pipelines.customers.pipeline import row_count, run
from pipelines.customers.settings import ENV_ALIASES, REJECTS_TABLE
from pipelines.dlt_project import aliased_env, run_entry


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
        return 1 if row_count(info, REJECTS_TABLE) else 0  # rejects: in customer_rejects

    return run_entry("customers", sync_once)


if __name__ == "__main__":
    sys.exit(main())
