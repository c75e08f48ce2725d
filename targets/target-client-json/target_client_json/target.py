"""target-client-json: declarations only; the work lives in sinks.py and files.py."""

from __future__ import annotations

from connector_kit.config_files import run_cli
from singer_sdk import Target
from singer_sdk import typing as th

from target_client_json.sinks import JsonFileSink


class TargetClientJson(Target):
    """Writes each record as `<key>.json` into the outbound folder, atomically, and journals it."""

    name = "target-client-json"
    default_sink_class = JsonFileSink

    config_jsonschema = th.PropertiesList(
        th.Property(
            "outbound_dir",
            th.StringType,
            required=True,
            title="Outbound folder",
            description="Folder the client system picks files up from (seed: DATA_OUTBOUND_DIR).",
        ),
        th.Property(
            "version_property",
            th.StringType,
            default="lastUpdateDate",
            title="Version property",
            description="Record field written to the journal as the exported version.",
        ),
        th.Property(
            "journal_path",
            th.StringType,
            title="Journal path",
            description="JSONL of the files written, for the acknowledgement step "
            "(tracos-mark-synced reads the same path). Default: `.written.jsonl` in the outbound "
            "folder; under meltano: `$DATA_OUTBOUND_DIR/.written.jsonl`, the value both get.",
        ),
        th.Property(
            "file_mode",
            th.StringType,
            title="File mode",
            description="Permissions of the written files, octal (e.g. `0640`). "
            "Default: what the process umask gives a new file (0644 under umask 022).",
        ),
        th.Property("batch_size", th.IntegerType, description="Deprecated: batch_size_rows."),
        th.Property(
            "dead_letter_dir",
            th.StringType,
            title="Dead-letter folder",
            description="Where records whose key cannot name a file go. Default: $DEAD_LETTER_DIR.",
        ),
    ).to_dict()


def main() -> None:
    """Console entry point (`target-client-json --config file.yaml`)."""
    run_cli(TargetClientJson.cli)


if __name__ == "__main__":
    main()
