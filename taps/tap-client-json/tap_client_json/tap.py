"""tap-client-json: declarations only; the reading lives in client.py."""

from __future__ import annotations

from connector_kit.config_files import run_cli
from singer_sdk import Tap
from singer_sdk import typing as th
from typing_extensions import override

from tap_client_json.streams import WorkOrdersStream


class TapClientJson(Tap):
    """The client ERP's work-order files (the seed's stand-in for its API)."""

    name = "tap-client-json"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "inbound_dir",
            th.StringType,
            required=True,
            title="Inbound folder",
            description="Folder the ERP drops work-order JSON files into (seed: DATA_INBOUND_DIR).",
        ),
        th.Property(
            "quarantine_dir",
            th.StringType,
            title="Quarantine folder",
            description="Where bad files (and bad records of array files) go, each with a "
            "`.reason` file. "
            "Default: `quarantine` next to the inbound folder.",
        ),
        th.Property(
            "file_pattern",
            th.StringType,
            default="*.json",
            title="File pattern",
            description="Glob of the files to read in the inbound folder (not recursive). "
            "Dot files and names ending in .part, .partial, .filepart, .tmp, .temp or ~ are "
            "never read.",
        ),
        th.Property(
            "settle_seconds",
            th.NumberType,
            default=5,
            title="Settle time (s)",
            description="A file is read only when its size and mtime have not changed for "
            "this long; a younger file waits for the next run.",
        ),
        th.Property(
            "max_file_bytes",
            th.IntegerType,
            default=1024**3,
            title="File size cap (bytes)",
            description="A larger file is quarantined with its reason, unread.",
        ),
    ).to_dict()

    @override
    def discover_streams(self) -> list[WorkOrdersStream]:
        return [WorkOrdersStream(self)]


def main() -> None:
    """Console entry point (`tap-client-json --config file.yaml`)."""
    run_cli(TapClientJson.cli)


if __name__ == "__main__":
    main()
