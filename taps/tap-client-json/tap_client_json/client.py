"""The base stream over an inbound folder of JSON files, with a file-level bookmark.

The bookmark (`files` in the stream state) maps each file name to its mtime, size and
sha256: a file whose mtime and size are unchanged is not opened again, and one whose
content hash is unchanged is not emitted again. The bookmark reaches meltano only after
the target has flushed the records before it, so a failed run re-reads what was not loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from connector_kit.logs import kv, summary
from singer_sdk import Stream
from singer_sdk.helpers.types import Context
from typing_extensions import override

from tap_client_json.quarantine import Quarantine
from tap_client_json.validation import InvalidWorkOrder, validate


class InboundFileStream(Stream):
    """Records from `*.json` files: one object per file, or an array of them (an API dump)."""

    @property
    def inbound_dir(self) -> Path:
        return Path(self.config["inbound_dir"])

    @property
    def quarantine(self) -> Quarantine:
        if not hasattr(self, "_quarantine"):
            folder = self.config.get("quarantine_dir") or self.inbound_dir.parent / "quarantine"
            self._quarantine = Quarantine(Path(folder))
        return self._quarantine

    def _quarantine_file(self, path: Path, reason: str) -> None:
        target = self.quarantine.move(path, reason)
        self.logger.error("file quarantined %s", kv(file=path.name, reason=reason, moved_to=target))

    def _inbound_files(self) -> list[Path]:
        pattern = self.config.get("file_pattern", "*.json")
        return sorted(self.inbound_dir.glob(pattern), key=lambda p: (p.lstat().st_mtime_ns, p.name))

    def _documents(self, path: Path, marks: dict[str, Any]) -> Iterable[dict[str, Any]] | None:
        """The valid documents of a changed file, or None when it needs no reading."""
        name = path.name
        mark = marks.get(name)
        try:
            with path.open("rb") as fh:
                stat = os.fstat(fh.fileno())
                if mark and mark["mtime_ns"] == stat.st_mtime_ns and mark["size"] == stat.st_size:
                    return None
                data = fh.read()
        except OSError as error:
            self._quarantine_file(path, f"unreadable file: {error.strerror or error}")
            return None
        new_mark = {
            "mtime_ns": stat.st_mtime_ns,
            "size": stat.st_size,
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if mark and mark.get("sha256") == new_mark["sha256"]:
            marks[name] = new_mark  # touched, same content
            return None
        try:
            parsed = json.loads(data)
        except (ValueError, UnicodeDecodeError) as error:
            self._quarantine_file(path, f"corrupt JSON: {error}")
            return None
        if not isinstance(parsed, list):
            try:
                validate(parsed)
            except InvalidWorkOrder as error:
                self._quarantine_file(path, str(error))
                return None
            return self._mark_after([parsed], marks, name, new_mark)
        valid = []
        for index, doc in enumerate(parsed):
            try:
                validate(doc)
            except InvalidWorkOrder as error:
                target = self.quarantine.keep(path, index, doc, str(error))
                self.logger.error(
                    "record quarantined %s",
                    kv(file=name, index=index, reason=error, moved_to=target),
                )
                continue
            valid.append(doc)
        return self._mark_after(valid, marks, name, new_mark)

    @staticmethod
    def _mark_after(
        docs: list[dict[str, Any]], marks: dict[str, Any], name: str, mark: dict[str, Any]
    ) -> Iterable[dict[str, Any]]:
        """Yield the documents, then bookmark the file: the mark follows the last record out."""
        yield from docs
        marks[name] = mark

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, Any]]:
        if not self.inbound_dir.is_dir():
            self.logger.error("inbound folder missing %s", kv(inbound_dir=self.inbound_dir))
            raise SystemExit(1)
        marks: dict[str, Any] = self.get_context_state(context).setdefault("files", {})
        present: set[str] = set()
        read = records = 0
        for path in self._inbound_files():
            present.add(path.name)
            if path.is_dir():
                self._quarantine_file(path, "unreadable file: is a directory")
                continue
            docs = self._documents(path, marks)
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
            quarantined=self.quarantine.count,
        )
