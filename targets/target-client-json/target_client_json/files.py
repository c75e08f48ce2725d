"""Durable files: atomic replace (temp file, fsync, rename, fsync of the folder) and the journal."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import os
import re
import tempfile
import urllib.parse
from pathlib import Path
from typing import Any

# A file name comes from the key alone: digits, or a short plain token. Nothing from the data
# can add a separator, `..`, or a leading dot.
_SAFE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class UnsafeKeyError(ValueError):
    pass


def folder_name(stream: str) -> str:
    """A stream's own folder (stream_folders): its name percent-encoded, so distinct names stay
    distinct and none holds a separator or starts with a dot (`test:a?b` -> `test%3Aa%3Fb`)."""
    name = urllib.parse.quote(stream, safe="")
    if name.startswith("."):
        name = "%2E" + name[1:]
    if not 0 < len(name.encode()) <= 255:
        raise ValueError(f"stream name cannot name a folder: {stream!r}")
    return name


def file_name(key: Any) -> str:
    if isinstance(key, bool):
        raise UnsafeKeyError(f"key is a boolean: {key!r}")
    if isinstance(key, int | decimal.Decimal) and key == int(key) and key >= 0:
        return f"{int(key)}.json"
    if isinstance(key, str) and _SAFE_KEY.fullmatch(key):
        return f"{key}.json"
    raise UnsafeKeyError(f"key cannot name a file: {key!r}")


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            return value.isoformat(timespec="milliseconds")
        return value.isoformat(
            timespec="milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def to_json(record: dict[str, Any]) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False, default=_json_default) + "\n"


def umask_mode() -> int:
    """The mode a plain `open()` would give a new file: 0666 less the process umask."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def parse_file_mode(value: object) -> int | None:
    """`file_mode` setting: octal text ("0640", "640") or an int; None/"" = follow the umask."""
    if value is None or value == "":
        return None
    mode = int(value, 8) if isinstance(value, str) else int(str(value))
    if not 0 <= mode <= 0o777:
        raise ValueError(f"file_mode {value!r} is not a permission mode like 0640")
    return mode


def write_atomic(folder: Path, name: str, text: str, mode: int | None = None) -> Path:
    """Readers see the old file or the new one, never a part; data is on disk before the rename.

    The file gets `mode` (default: what the umask gives a new file), not mkstemp's 0600, so
    the client's pickup account can read it.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, umask_mode() if mode is None else mode)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return folder / name


def fsync_folder(folder: Path) -> None:
    """Make the renames themselves durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def append_journal(path: Path, entries: list[dict[str, Any]]) -> None:
    """One JSON line per written file, fsynced: the acknowledgement reads it after the run."""
    if not entries:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(journal_lines(entries))
        fh.flush()
        os.fsync(fh.fileno())


def journal_lines(entries: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(entry, default=_json_default) + "\n" for entry in entries)
