"""Quarantine: bad input is moved aside with a `<name>.reason` file next to it, never fatal.

The `.reason` file (connector_kit.files.write_reason) also holds the file's size and mtime as
it was moved: a quarantined file that changes afterwards (its writer finished it there) is
found by `changed()` and read again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

from connector_kit import files
from connector_kit.remote import RemoteFolder


class Quarantine:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def _free_path(self, name: str) -> Path:
        """Never overwrite an earlier quarantined file of the same name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        if path.exists() or path.is_symlink():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            path = self.folder / f"{stamp}-{name}"
        return path

    def _write_reason(self, path: Path, reason: str, source: PurePath) -> None:
        files.write_reason(path, reason, source)
        self.count += 1

    def move(self, source: Path, reason: str) -> Path:
        """Move a whole file (works without read permission: a rename needs only the folder's).

        A link, FIFO or device is moved as itself: renaming never opens or follows it.
        """
        target = self._free_path(source.name)
        try:
            os.replace(source, target)
        except OSError:  # another file system: copy and delete
            shutil.move(str(source), target)
        self._write_reason(target, reason, source)
        return target

    def keep(self, source: PurePath, index: int, record: Any, reason: str) -> Path:
        """Keep one bad record of an array file as its own file; the rest of the file loads."""
        target = self._free_path(f"{source.stem}.{index}{source.suffix or '.json'}")
        text = json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n"
        # a lone surrogate is written as its JSON escape, which reads back the same
        target.write_text(text, encoding="utf-8", errors="backslashreplace")
        self._write_reason(target, f"{reason} (record {index} of {source.name})", source)
        return target

    def changed(self, rules: files.FileRules) -> Iterator[Path]:
        """Quarantined files changed since they were moved here (and settled since)."""
        if not self.folder.is_dir():
            return
        for reason in sorted(self.folder.glob("*.reason")):
            path = reason.with_name(reason.name.removesuffix(".reason"))
            if files.changed_since_set_aside(path, rules) is not None:
                yield path


class RemoteQuarantine:
    """The same for an inbound folder in a remote store (connector_kit.remote): objects are moved
    to the quarantine prefix with `<name>.reason` beside them.

    A quarantined object is not taken back when it changes: an object store never holds a
    half-written object (a PUT is whole), so there is no writer to finish it there.
    """

    def __init__(self, folder: RemoteFolder) -> None:
        self.folder = folder
        self.count = 0

    def move(self, source: PurePosixPath, reason: str) -> str:
        target = self.folder.set_aside(str(source), reason)
        self.count += 1
        return self.folder.fs.unstrip_protocol(target)

    def keep(self, source: PurePath, index: int, record: Any, reason: str) -> str:
        name = f"{source.stem}.{index}{source.suffix or '.json'}"
        text = json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n"
        target = self.folder.free_path(name)
        self.folder.write_atomic(
            PurePosixPath(target).name, text.encode("utf-8", errors="backslashreplace")
        )
        self.folder.write_reason(target, f"{reason} (record {index} of {source.name})", str(source))
        self.count += 1
        return self.folder.fs.unstrip_protocol(target)

    def changed(self, rules: files.FileRules) -> Iterator[Path]:
        return iter(())
