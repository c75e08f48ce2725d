"""`python -m pipelines.offers`: one offers sync; exits 1 when any product failed."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from connector_kit import logs
from connector_kit.logs import kv
from dlt.common.configuration.exceptions import ConfigFieldMissingException
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.dlt_project import aliased_env, use_project_dirs
from pipelines.offers.auth import RefreshTokenRejected
from pipelines.offers.settings import ENV_ALIASES

log = logging.getLogger("pipelines.offers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.offers", description=__doc__)
    parser.parse_args(argv)
    logs.configure()
    use_project_dirs()
    with aliased_env(ENV_ALIASES, "offers"):
        return sync()


def sync() -> int:
    logs.register_secret(os.environ.get("SOURCES__OFFERS__REFRESH_TOKEN"))
    from pipelines.offers.pipeline import run  # after the env is set: dlt reads config at import

    try:
        outcomes = run()
    except ConfigFieldMissingException as exc:
        log.error("config missing %s", kv(pipeline="offers", fields=",".join(exc.fields)))
        return 2
    except RefreshTokenRejected as exc:
        log.error("sync failed %s", kv(pipeline="offers", error=exc))
        return 1
    except PipelineStepFailed as exc:
        log.error("sync failed %s", kv(pipeline="offers", step=exc.step, error=exc.exception))
        return 1
    return 1 if any(o.status == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
