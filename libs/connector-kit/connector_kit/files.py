"""Inbound files: consume only whole, settled, regular files, and open them without surprises.

The one rule for every folder a connector picks files up from (the ERP inbound folder, the
partner landing folder):

- **Temporary names are not files yet**: dot files and names ending in `.part`, `.partial`,
  `.filepart`, `.tmp`, `.temp` or `~` are left alone. A writer uploads under such a name and
  renames when done.
- **Settled**: its size and mtime have not changed for `settle_seconds` (every write moves
  mtime). A younger file waits for a later run; a file that changes while it is read is
  left for a later run too.
- **Regular files only, links never followed**: a symbolic link (even to a file in the same
  folder), a FIFO, a device, a socket or a folder is refused with its reason. The file is
  opened with O_NOFOLLOW and O_NONBLOCK and checked again on the open descriptor, so a link
  or FIFO swapped in after the listing can neither redirect nor hang the read.
- **Size cap**: a file over `max_bytes` is refused, and the reader stops at the cap even if
  the file grows while it is read.
- **Quoted content is short**: `excerpt()` cuts any file text quoted in a reason or a log line.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

TEMPORARY_SUFFIXES = (".part", ".partial", ".filepart", ".tmp", ".temp", "~")
DEFAULT_SETTLE_SECONDS = 5.0
DEFAULT_MAX_BYTES = 1024**3  # 1 GiB
EXCERPT_CHARS = 120
_KINDS = {
    stat.S_ISLNK: "a symbolic link (links are not followed)",
    stat.S_ISDIR: "a directory",
    stat.S_ISFIFO: "a FIFO (named pipe)",
    stat.S_ISCHR: "a character device",
    stat.S_ISBLK: "a block device",
    stat.S_ISSOCK: "a socket",
}


class FileRefused(OSError):
    """The path is not a regular file we may read (its reason is the message)."""


class FileChanged(OSError):
    """The file changed or was replaced since it was checked: leave it for a later run."""


class Verdict(StrEnum):
    READY = "ready"
    UNSETTLED = "unsettled"  # written to recently: a later run takes it
    TEMPORARY = "temporary"  # a name writers use while uploading: never taken
    REFUSED = "refused"  # not a regular file, or too large: set aside with the reason


@dataclass(frozen=True)
class FileRules:
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_settings(cls, settle_seconds: object = None, max_bytes: object = None) -> FileRules:
        """From plugin settings; None (unset) keeps the default."""
        return cls(
            settle_seconds=DEFAULT_SETTLE_SECONDS
            if settle_seconds is None
            else float(str(settle_seconds)),
            max_bytes=DEFAULT_MAX_BYTES if max_bytes is None else int(str(max_bytes)),
        )


@dataclass(frozen=True)
class FileCheck:
    path: Path
    verdict: Verdict
    reason: str = ""
    stat: os.stat_result | None = None


def is_temporary(name: str) -> bool:
    return name.startswith(".") or name.lower().endswith(TEMPORARY_SUFFIXES)


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, or None for a regular file."""
    for test, kind in _KINDS.items():
        if test(mode):
            return kind
    return None if stat.S_ISREG(mode) else "not a regular file"


def last_change(st: os.stat_result) -> float:
    return st.st_mtime


def check_file(path: Path, rules: FileRules, now: float | None = None) -> FileCheck:
    """Is `path` a settled regular file within the size cap? Never follows a link, never opens."""
    if is_temporary(path.name):
        return FileCheck(path, Verdict.TEMPORARY, "temporary name")
    try:
        st = path.lstat()
    except OSError as error:
        return FileCheck(path, Verdict.REFUSED, f"unreadable file: {error.strerror or error}")
    kind = kind_of(st.st_mode)
    if kind:
        return FileCheck(path, Verdict.REFUSED, f"not a regular file: {kind}", st)
    if st.st_size > rules.max_bytes:
        return FileCheck(path, Verdict.REFUSED, too_large(st.st_size, rules.max_bytes), st)
    age = (time.time() if now is None else now) - last_change(st)
    if age < rules.settle_seconds:
        return FileCheck(path, Verdict.UNSETTLED, f"changed {max(age, 0):.1f}s ago", st)
    return FileCheck(path, Verdict.READY, "", st)


def too_large(size: int, cap: int) -> str:
    return f"file of {size} bytes is over the size cap of {cap} bytes (setting max_file_bytes)"


def same_file(a: os.stat_result, b: os.stat_result) -> bool:
    """Same inode, same size, same mtime: nothing was swapped in or written meanwhile."""
    return (a.st_dev, a.st_ino, a.st_size, a.st_mtime_ns) == (
        b.st_dev,
        b.st_ino,
        b.st_size,
        b.st_mtime_ns,
    )


class SafeFile(io.RawIOBase):
    """A regular file opened without following links; reads stop at the size cap.

    `changed()` tells whether the file moved on since it was checked (compare before trusting
    what was read).
    """

    def __init__(self, path: Path, rules: FileRules, expected: os.stat_result | None = None):
        super().__init__()
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
        try:
            self._fd = os.open(path, flags)
        except OSError as error:
            if error.errno == getattr(os, "ELOOP", 40):
                raise FileRefused(f"not a regular file: {_KINDS[stat.S_ISLNK]}") from None
            raise
        try:
            self.stat = os.fstat(self._fd)
            kind = kind_of(self.stat.st_mode)
            if kind:
                raise FileRefused(f"not a regular file: {kind}")
            if expected is not None and not same_file(expected, self.stat):
                raise FileChanged("file changed or was replaced since it was listed")
            if self.stat.st_size > rules.max_bytes:
                raise FileRefused(too_large(self.stat.st_size, rules.max_bytes))
        except BaseException:
            os.close(self._fd)
            raise
        self.path = path
        self.max_bytes = rules.max_bytes
        self._read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._read = os.lseek(self._fd, offset, whence)
        return self._read

    def tell(self) -> int:
        return self._read

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        room = self.max_bytes - self._read
        if room <= 0:
            if os.read(self._fd, 1):
                raise FileRefused(f"file grew over the size cap of {self.max_bytes} bytes")
            return 0
        view = memoryview(buffer)[: min(len(buffer), room)]
        count = os.readv(self._fd, [view])
        self._read += count
        return count

    def changed(self) -> bool:
        return not same_file(self.stat, os.fstat(self._fd))

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def open_file(
    path: Path, rules: FileRules, expected: os.stat_result | None = None, buffering: int = 1 << 16
) -> tuple[SafeFile, BinaryIO]:
    """Open `path` safely: the raw SafeFile (for `changed()`) and a buffered reader over it."""
    raw = SafeFile(path, rules, expected)
    return raw, io.BufferedReader(raw, buffering)


class HashingReader:
    """A binary stream that hashes (sha256) what is read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.sha256.update(data)
        return data


def excerpt(text: object, limit: int = EXCERPT_CHARS) -> str:
    """File content quoted in a reason, a log line or a ledger row: one line, at most `limit`."""
    value = str(text)
    short = "".join(c if c.isprintable() else repr(c)[1:-1] for c in value[:limit])
    return short + (f"... ({len(value)} chars)" if len(value) > limit else "")


# Files set aside (quarantined, archived as failed) carry `<name>.reason`: the reason on the
# first line, then `source:`, `set_aside_at:`, and the file's `size:` and `mtime_ns:` as it was
# set aside. A writer that still had the file open and finished it afterwards changes those,
# and the file is looked at again (see `changed_since_set_aside`).


def write_reason(target: Path, reason: str, source: object) -> Path:
    """Write `<target>.reason` beside a file just set aside; returns its path."""
    st = target.lstat()
    reason_path = target.with_name(target.name + ".reason")
    reason_path.write_text(reason_text(reason, source, st.st_size, st.st_mtime_ns), "utf-8")
    return reason_path


def reason_text(reason: str, source: object, size: int, mtime_ns: int) -> str:
    """The `.reason` file's text (also written beside objects set aside in a remote store)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return (
        f"{excerpt(reason, 2000)}\nsource: {excerpt(source, 2000)}\nset_aside_at: {stamp}\n"
        f"size: {size}\nmtime_ns: {mtime_ns}\n"
    )


def _reason_fields(reason_path: Path) -> dict[str, str]:
    lines = reason_path.read_text(encoding="utf-8", errors="replace").splitlines()
    fields = {"reason": lines[0] if lines else ""}
    for line in lines[1:]:
        key, _, value = line.partition(": ")
        fields[key] = value
    return fields


def changed_since_set_aside(target: Path, rules: FileRules) -> Path | None:
    """The original path of a set-aside file that changed since (and has settled), else None."""
    reason_path = target.with_name(target.name + ".reason")
    try:
        fields = _reason_fields(reason_path)
        st = target.lstat()
    except OSError:
        return None
    if "size" not in fields or "mtime_ns" not in fields or kind_of(st.st_mode):
        return None  # no mark (an older reason file), or not a regular file
    if (str(st.st_size), str(st.st_mtime_ns)) == (fields["size"], fields["mtime_ns"]):
        return None
    if time.time() - last_change(st) < rules.settle_seconds:
        return None  # still being written: a later run looks again
    return Path(fields.get("source") or target.name)


def take_back(target: Path, folder: Path, name: str) -> Path:
    """Move a changed set-aside file back into `folder` (its `.reason` goes), never overwriting."""
    back = folder / name
    if back.exists() or back.is_symlink():
        back = folder / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{name}"
    os.replace(target, back)
    target.with_name(target.name + ".reason").unlink(missing_ok=True)
    return back
