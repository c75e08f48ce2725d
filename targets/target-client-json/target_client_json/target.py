"""target-client-json: declarations only; the work lives in sinks.py and files.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from connector_kit.config_files import run_cli
from singer_sdk import Target
from singer_sdk import typing as th
from typing_extensions import override

from target_client_json.sinks import JsonFileSink

if TYPE_CHECKING:
    from singer_sdk.sinks import Sink


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
        th.Property(
            "stream_folders",
            th.BooleanType,
            default=False,
            title="A folder per stream",
            description="Write each stream's files into `<outbound_dir>/<stream>/`. Needed when "
            "more than one stream is sent: files are named by key alone, so two streams in one "
            "folder would replace each other's files (the target refuses that).",
        ),
        th.Property("batch_size", th.IntegerType, description="Deprecated: batch_size_rows."),
        th.Property(
            "dead_letter_dir",
            th.StringType,
            title="Dead-letter folder",
            description="Where records whose key cannot name a file go. Default: $DEAD_LETTER_DIR.",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.streams_seen: list[str] = []

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        if stream_name not in self.streams_seen:
            self.streams_seen.append(stream_name)
        if len(self.streams_seen) > 1 and not self.config.get("stream_folders"):
            first, second = self.streams_seen[:2]
            msg = (
                f"streams {first} and {second} would write files of the same names into "
                f"{self.config['outbound_dir']}: set stream_folders to give each its own folder"
            )
            raise ValueError(msg)
        return super().get_sink_class(stream_name)


def main() -> None:
    """Console entry point (`target-client-json --config file.yaml`)."""
    run_cli(TargetClientJson.cli)


if __name__ == "__main__":
    main()
