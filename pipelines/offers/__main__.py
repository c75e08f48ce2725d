"""`python -m pipelines.offers`: one offers sync; exits 1 when any product failed."""

from __future__ import annotations

import argparse
import os
import sys

from connector_kit import logs

from pipelines.dlt_project import aliased_env, run_entry, use_project_dirs
from pipelines.offers.settings import ENV_ALIASES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.offers", description=__doc__)
    parser.parse_args(argv)
    return run_entry("offers", sync_once)


def sync_once() -> int:
    use_project_dirs()
    with aliased_env(ENV_ALIASES, "offers"):
        return sync()


def sync() -> int:
    logs.register_secret(os.environ.get("SOURCES__OFFERS__REFRESH_TOKEN"))
    logs.register_secret(os.environ.get("SOURCES__OFFERS__DATABASE_URL"))
    from pipelines.offers.pipeline import run  # after the env is set: dlt reads config at import

    outcomes = run()
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
