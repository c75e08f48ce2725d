"""The base stream over an inbound folder of JSON files, with a file-level bookmark.

Only settled regular files are read (connector_kit.files: temporary names skipped, links
never followed, FIFOs and devices refused, a size cap), and they are parsed as a stream
(connector_kit.jsonstream), so memory holds one record whatever the file's size.

The bookmark (`files` in the stream state) maps each file name to its mtime, size and
sha256: a file whose mtime and size are unchanged is not opened again, and one whose
content hash is unchanged is not emitted again. The bookmark reaches meltano only after
the target has flushed the records before it, so a failed run re-reads what was not loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from connector_kit import files
from connector_kit.jsonstream import InvalidJson, JsonRecords
from connector_kit.logs import kv, summary
from connector_kit.remote import RemoteFolder, local_path
from singer_sdk import Stream
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_client_json.quarantine import Quarantine, RemoteQuarantine
from tap_client_json.validation import InvalidWorkOrder, validate

REASON_CHARS = 300


@dataclass(frozen=True)
class Candidate:
    """A listed file and what the rules say of it; `documents()` reads it (None: no reading)."""

    name: str
    verdict: files.Verdict
    reason: str
    path: Path | PurePosixPath
    documents: Callable[[], Iterable[dict[str, Any]] | None]


class InboundFileStream(Stream):
    """Records from `*.json` files: one object per file, or an array of them (an API dump)."""

    @property
    def inbound_dir(self) -> Path:
        """The local inbound folder (a plain path or a `file://` URL)."""
        path = local_path(self.config["inbound_dir"])
        assert path is not None, "a remote inbound folder is read by _remote_records"
        return path

    @property
    def remote(self) -> RemoteFolder | None:
        """The inbound folder when it is a store's URL (`s3://`, `sftp://`), else None."""
        if not hasattr(self, "_remote"):
            location = self.config["inbound_dir"]
            self._remote = None if local_path(location) else RemoteFolder(location)
        return self._remote

    @property
    def rules(self) -> files.FileRules:
        return files.FileRules.from_settings(
            self.config.get("settle_seconds"), self.config.get("max_file_bytes")
        )

    @property
    def quarantine(self) -> Quarantine | RemoteQuarantine:
        if not hasattr(self, "_quarantine"):
            folder = self.config.get("quarantine_dir")
            if self.remote is not None:
                remote = (
                    RemoteFolder(folder) if folder else self.remote.parent().child("quarantine")
                )
                self._quarantine: Quarantine | RemoteQuarantine = RemoteQuarantine(remote)
            else:
                local = local_path(folder) if folder else self.inbound_dir.parent / "quarantine"
                if local is None:
                    raise ValueError("quarantine_dir must be local when inbound_dir is local")
                self._quarantine = Quarantine(local)
        return self._quarantine

    def _quarantine_file(self, path: Any, reason: str) -> None:
        reason = files.excerpt(reason, REASON_CHARS)  # a reason may quote the file's content
        target = self.quarantine.move(path, reason)
        self.logger.error("file quarantined %s", kv(file=path.name, reason=reason, moved_to=target))

    def _inbound_files(self) -> list[Path]:
        pattern = self.config.get("file_pattern", "*.json")
        found = []
        for path in self.inbound_dir.glob(pattern):
            try:
                found.append((path.lstat().st_mtime_ns, path.name, path))
            except OSError:
                continue  # gone since listed
        return [path for *_, path in sorted(found)]

    def _take_back_changed(self) -> None:
        """A quarantined file that changed since (a writer finished it there) is read again."""
        for path in self.quarantine.changed(self.rules):
            back = files.take_back(path, self.inbound_dir, path.name)
            self.logger.warning(
                "quarantined file changed, taken back %s", kv(file=path.name, moved_to=back)
            )

    def _documents(
        self, path: Path, marks: dict[str, Any], listed: Any
    ) -> Iterable[dict[str, Any]] | None:
        """The valid documents of a changed file, or None when it needs no reading."""
        mark = marks.get(path.name)
        if mark and mark["mtime_ns"] == listed.st_mtime_ns and mark["size"] == listed.st_size:
            return None
        try:
            raw, stream = files.open_file(path, self.rules, expected=listed)
        except files.FileChanged:
            self.logger.info("file changed since listed, left for the next run %s", kv(file=path))
            return None
        except files.FileRefused as error:
            self._quarantine_file(path, str(error))
            return None
        except OSError as error:
            self._quarantine_file(path, f"unreadable file: {error.strerror or error}")
            return None
        return self._read(path, raw, stream, marks)

    def _remote_documents(
        self, remote: RemoteFolder, listed: Any, marks: dict[str, Any]
    ) -> Iterable[dict[str, Any]] | None:
        """As `_documents`, for an object in a store."""
        mark = marks.get(listed.name)
        if mark and mark["mtime_ns"] == listed.st_mtime_ns and mark["size"] == listed.st_size:
            return None
        path = PurePosixPath(listed.path)
        try:
            raw, stream = remote.open(listed, self.rules)
        except files.FileRefused as error:
            self._quarantine_file(path, str(error))
            return None
        except FileNotFoundError:
            return None  # gone since listed
        return self._read(path, raw, stream, marks)

    def _read(
        self,
        path: Path | PurePosixPath,
        raw: Any,  # files.SafeFile or remote.RemoteFile: `changed()`, `stat`, `seek`
        stream: BinaryIO,
        marks: dict[str, Any],
    ) -> Iterator[dict[str, Any]]:
        """Two streamed passes: the whole file parses (and is hashed), then its records go out."""
        name = path.name
        with stream:
            hashing = files.HashingReader(stream)
            try:
                for _ in JsonRecords(hashing, allow_single=True):  # type: ignore[arg-type]
                    pass
            except InvalidJson as error:
                stream.close()
                self._quarantine_file(path, f"corrupt JSON: {error}")
                return
            except files.FileRefused as error:
                stream.close()
                self._quarantine_file(path, str(error))
                return
            if raw.changed():
                self.logger.info("file changed while read, left for the next run %s", kv(file=name))
                return
            new_mark = {
                "mtime_ns": raw.stat.st_mtime_ns,
                "size": raw.stat.st_size,
                "sha256": hashing.sha256.hexdigest(),
            }
            mark = marks.get(name)
            if mark and mark.get("sha256") == new_mark["sha256"]:
                marks[name] = new_mark  # touched, same content
                return
            stream.seek(0)
            records = JsonRecords(stream, allow_single=True)
            for index, doc in enumerate(records):
                try:
                    validate(doc)
                except InvalidWorkOrder as error:
                    if records.single:
                        stream.close()
                        self._quarantine_file(path, str(error))
                        return
                    reason = files.excerpt(error, REASON_CHARS)
                    target = self.quarantine.keep(path, index, doc, reason)
                    self.logger.error(
                        "record quarantined %s",
                        kv(file=name, index=index, reason=reason, moved_to=target),
                    )
                    continue
                yield doc
            marks[name] = new_mark  # the mark follows the last record out

    def _local_files(self, marks: dict[str, Any]) -> Iterator[Candidate]:
        """The local folder's files, checked (connector_kit.files)."""
        rules = self.rules
        for path in self._inbound_files():
            check = files.check_file(path, rules)
            read = partial(self._documents, path, marks, check.stat)
            yield Candidate(path.name, check.verdict, check.reason, path, read)

    def _remote_files(self, remote: RemoteFolder, marks: dict[str, Any]) -> Iterator[Candidate]:
        """A store's objects, checked under the same rules (connector_kit.remote)."""
        rules = self.rules
        for listed in remote.objects(self.config.get("file_pattern", "*.json")):
            verdict, reason = remote.check(listed, rules)
            read = partial(self._remote_documents, remote, listed, marks)
            yield Candidate(listed.name, verdict, reason, PurePosixPath(listed.path), read)

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        marks: dict[str, Any] = self.get_context_state(context).setdefault("files", {})
        if self.remote is not None:
            if not self.remote.exists():
                self.logger.error("inbound folder missing %s", kv(inbound_dir=self.remote))
                raise SystemExit(1)
            candidates = self._remote_files(self.remote, marks)
        else:
            if not self.inbound_dir.is_dir():
                self.logger.error("inbound folder missing %s", kv(inbound_dir=self.inbound_dir))
                raise SystemExit(1)
            self._take_back_changed()
            candidates = self._local_files(marks)
        present: set[str] = set()
        read = records = waiting = 0
        for file in candidates:
            if file.verdict is files.Verdict.TEMPORARY:
                continue
            present.add(file.name)
            if file.verdict is files.Verdict.UNSETTLED:
                waiting += 1
                self.logger.info(
                    "file not settled, left for the next run %s",
                    kv(file=file.name, reason=file.reason),
                )
                continue
            if file.verdict is files.Verdict.REFUSED:
                self._quarantine_file(file.path, file.reason)
                continue
            docs = file.documents()
            if docs is None:
                continue
            read += 1
            for doc in docs:
                records += 1
                yield doc
        for gone in set(marks) - present:
            del marks[gone]
        summary(
            self.logger,
            stream=self.name,
            files=len(present),
            files_read=read,
            read=records,
            waiting=waiting,
            quarantined=self.quarantine.count,
        )
