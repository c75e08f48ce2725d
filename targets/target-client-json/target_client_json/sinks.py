"""One JSON file per record, named from the record's key; then a journal line per file.

The journal line (`{"stream", "file", "key", "version", "written_at"}`) is written after
the file is durable and before the batch's state is released. The acknowledgement step
(`tracos-mark-synced`) consumes it: delivery is at least once, never lost.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from connector_kit.deadletter import DeadLetters
from connector_kit.logs import Progress, kv, summary
from connector_kit.remote import RemoteFolder, folder_of, local_path
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_client_json.files import (
    UnsafeKeyError,
    append_journal,
    file_name,
    folder_name,
    fsync_folder,
    journal_lines,
    parse_file_mode,
    to_json,
    umask_mode,
    write_atomic,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from singer_sdk.target_base import Target


class JsonFileSink(BatchSink):
    def __init__(
        self, target: Target, stream_name: str, schema: dict, key_properties: Sequence[str] | None
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        if not key_properties or len(key_properties) != 1:
            msg = f"stream {stream_name} needs one key property to name files, got {key_properties}"
            raise ValueError(msg)
        self.key = key_properties[0]
        self.version = self.config.get("version_property", "lastUpdateDate")
        outbound = self.config["outbound_dir"].rstrip("/")
        journal = self.config.get("journal_path") or f"{outbound}/.written.jsonl"
        self.subfolder = ""  # of the outbound folder, where this stream's files go
        if self.config.get("stream_folders"):
            self.subfolder = folder_name(stream_name)
        files_at = f"{outbound}/{self.subfolder}" if self.subfolder else outbound
        # a plain path or file:// is the local folder; a store's URL (s3://, sftp://) is
        # written through connector_kit.remote, with the same guarantees
        self.local = local_path(files_at)
        self.remote = None if self.local else RemoteFolder(files_at)
        self._present: set[str] | None = None  # names in the store, listed once
        if self.remote:
            self.remote.ensure()
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
        self.journal: Path | str = local_path(journal) or journal
        self.file_mode = parse_file_mode(self.config.get("file_mode"))
        if self.file_mode is None:
            self.file_mode = umask_mode()  # read once: os.umask is process-wide
        self.dead_letters = DeadLetters.for_plugin(
            "target-client-json.jsonl", folder=self.config.get("dead_letter_dir")
        )
        self.written = 0
        self.rejected = 0
        self.updated = 0  # files that replaced an earlier export of the same key
        self.progress = Progress(self.logger, stream=self.stream_name)

    @property
    def folder(self) -> Path:
        assert self.local is not None
        return self.local

    MAX_SIZE_DEFAULT = 500  # files per folder fsync and journal append: the SDK's batch_size_rows

    @property
    @override
    def max_size(self) -> int:
        # batch_size_rows, else its old name batch_size (deprecated)
        return self.batch_size_rows or int(self.config.get("batch_size") or self.MAX_SIZE_DEFAULT)

    @override
    def process_batch(self, context: dict) -> None:
        latest: dict[str, dict[str, Any]] = {}
        for record in context["records"]:
            try:
                latest[file_name(record.get(self.key))] = record
            except UnsafeKeyError as error:
                self.rejected += 1
                self.dead_letters.add(record, str(error), stream=self.stream_name)
                self.logger.error("record rejected %s", kv(stream=self.stream_name, reason=error))
        entries = []
        for name, record in latest.items():
            self.updated += self._write(name, record)
            entries.append(self._entry(name, record))
        if self.local:
            fsync_folder(self.local)  # the renames themselves durable
        self._append_journal(entries)
        self.written += len(entries)
        self.progress.add(len(entries))

    def _write(self, name: str, record: dict[str, Any]) -> bool:
        """Write one file atomically; True when it replaced an earlier export of the key."""
        if self.remote is None:
            replaced = (self.folder / name).exists()
            write_atomic(self.folder, name, to_json(record), self.file_mode)
            return replaced
        if self._present is None:  # listed once: a store's listing costs a request per 1000
            self._present = {listed.name for listed in self.remote.objects("*.json")}
        self.remote.write_atomic(name, to_json(record).encode("utf-8"))  # one PUT, or tmp+rename
        replaced = name in self._present
        self._present.add(name)
        return replaced

    def _entry(self, name: str, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "stream": self.stream_name,
            "file": f"{self.subfolder}/{name}" if self.subfolder else name,
            "key": record[self.key],
            "version": record.get(self.version),
            "written_at": dt.datetime.now(dt.UTC),
        }

    def _append_journal(self, entries: list[dict[str, Any]]) -> None:
        """A local journal gets fsynced lines; one in a store an object per batch (a segment)."""
        if isinstance(self.journal, Path):
            append_journal(self.journal, entries)
        elif entries:
            folder, name = folder_of(self.journal)
            folder.append_segment(name, journal_lines(entries))

    @override
    def clean_up(self) -> None:
        self.progress.stop()
        summary(
            self.logger,
            stream=self.stream_name,
            folder=self.local or self.remote,
            inserted=self.written - self.updated,
            updated=self.updated,
            rejected=self.rejected,
            journal=self.journal,
        )
        super().clean_up()
