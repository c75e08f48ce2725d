"""Quarantine: bad input is moved aside with a `<name>.reason` file next to it, never fatal."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path
from typing import Any


class Quarantine:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    def _free_path(self, name: str) -> Path:
        """Never overwrite an earlier quarantined file of the same name."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        if path.exists():
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            path = self.folder / f"{stamp}-{name}"
        return path

    def _write_reason(self, path: Path, reason: str, source: Path) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        text = f"{reason}\nsource: {source}\nquarantined_at: {stamp}\n"
        path.with_name(path.name + ".reason").write_text(text, encoding="utf-8")
        self.count += 1

    def move(self, source: Path, reason: str) -> Path:
        """Move a whole file (works without read permission: a rename needs only the folder's)."""
        target = self._free_path(source.name)
        try:
            os.replace(source, target)
        except OSError:  # another file system: copy and delete
            shutil.move(str(source), target)
        self._write_reason(target, reason, source)
        return target

    def keep(self, source: Path, index: int, record: Any, reason: str) -> Path:
        """Keep one bad record of an array file as its own file; the rest of the file loads."""
        target = self._free_path(f"{source.stem}.{index}{source.suffix or '.json'}")
        target.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        self._write_reason(target, f"{reason} (record {index} of {source.name})", source)
        return target
