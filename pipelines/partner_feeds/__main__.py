"""CLI: python -m pipelines.partner_feeds [--landing-dir DIR] [--destination duckdb|postgres] ..."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from connector_kit import logs

from pipelines.dlt_project import run_entry, use_project_dirs

log = logging.getLogger("pipelines.partner_feeds")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.partner_feeds", description=__doc__)
    parser.add_argument(
        "--landing-dir", help="folder with one sub-folder per partner (PARTNER_FEEDS_DIR)"
    )
    parser.add_argument(
        "--archive-dir", help="where settled feeds are moved (PARTNER_FEEDS_ARCHIVE_DIR)"
    )
    parser.add_argument(
        "--no-archive", action="store_true", help="leave processed files in the landing folder"
    )
    parser.add_argument(
        "--destination", choices=["duckdb", "postgres"], help="(PARTNER_FEEDS_DESTINATION)"
    )
    parser.add_argument("--partner", action="append", help="only this partner (repeatable)")
    parser.add_argument(
        "--allow-rejects",
        action="store_true",
        help="exit 0 even when rows were rejected (they stay in `rejects`)",
    )
    args = parser.parse_args(argv)
    use_project_dirs()  # .dlt/config.toml of this project, whatever the working directory
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # runs offline, sends nothing

    def run_once() -> int:
        from pipelines.partner_feeds.pipeline import run
        from pipelines.partner_feeds.registry import RegistryError
        from pipelines.partner_feeds.settings import PartnerFeedsSettings

        try:
            settings = PartnerFeedsSettings.resolve(
                landing_dir=args.landing_dir,
                archive_dir=args.archive_dir,
                destination=args.destination,
                fail_on_rejects=False if args.allow_rejects else None,
            )
            report = run(settings, partners=args.partner, archive=not args.no_archive)
        except (RegistryError, ValueError) as exc:
            log.error("partner feeds not started %s", logs.kv(error=logs.mask(str(exc))))
            return 2
        return report.exit_code

    # e.g. the destination is unreachable: one line, the trace with LOG_LEVEL=DEBUG
    return run_entry("partner_feeds", run_once)


if __name__ == "__main__":
    sys.exit(main())
