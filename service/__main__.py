"""`python -m service`: the API on SERVICE_HOST:SERVICE_PORT (127.0.0.1:8080) with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn
from connector_kit import logs

from service.core.config import SettingsError, load_settings

log = logging.getLogger("service")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        logs.configure()
        log.error("%s", exc)
        return 2
    logs.configure(settings.log_level)
    uvicorn.run(
        "service.main:create_app",
        factory=True,  # each worker process builds its own app, engine and pool
        host=settings.service_host,
        port=settings.service_port,
        workers=settings.service_workers,
        log_config=None,  # uvicorn's lines go through connector_kit's key=value formatter
        access_log=False,  # service.access logs each request, with its request id
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
