"""Folders that may be fsspec URLs: `s3://bucket/prefix`, `sftp://host/path`, `file://` or a path.

A plain path or a `file://` URL is a local folder (`local_path`): callers keep their local
code (connector_kit.files: O_NOFOLLOW opens, fsync, rename), which stays as fast as it is.
Any other URL is a `RemoteFolder` over fsspec, with the same guarantees in that store's terms:

- **Atomic writes.** On an object store (s3, gcs, azure) a file is written in one request
  (`pipe`: a single PUT, or a multipart upload that appears only when complete); readers see
  the old object or the new one. Elsewhere (sftp) it is written under a temporary dot name
  and renamed.
- **Settled objects.** An object is read once its last modification (S3 `LastModified`, sftp
  mtime) is `settle_seconds` old, and it is left for a later run if its size or version
  (ETag, else size and mtime) changed while it was read. Temporary names (connector_kit.files)
  are never read; the size cap applies while reading. Symlink and FIFO rules are local only:
  a store lists objects, never links.
- **Append-only journals** become one object per append (`<journal>.seg-<ns>`): objects
  cannot be appended to, and each segment is whole once it exists.

Credentials and endpoints come from the store's own configuration (for S3: `AWS_*` variables,
`AWS_ENDPOINT_URL` for an S3-compatible server, or `FSSPEC_S3_*`), never from the URL we log.
An sftp server's host key must be in a known_hosts file (connector_kit.hostkeys:
`SFTP_KNOWN_HOSTS`, `SFTP_HOST_KEY_POLICY`) before the URL's password is sent.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import io
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from connector_kit import files
from connector_kit.logs import endpoint

OBJECT_STORES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss"})
SSH_PROTOCOLS = frozenset({"sftp", "ssh"})
SEGMENT = ".seg-"
READ_BLOCK = 4 << 20  # 4 MiB per range request


def is_url(location: str) -> bool:
    return "://" in location


def local_path(location: str | os.PathLike[str]) -> Path | None:
    """The local folder a plain path or `file://` URL names; None for any other URL."""
    text = os.fspath(location)
    if not is_url(text):
        return Path(text)
    if text.split("://", 1)[0] == "file":
        return Path(LocalFileSystem._strip_protocol(text))
    return None


def is_ssh(url: str) -> bool:
    return url.partition("://")[0] in SSH_PROTOCOLS


def store_options(url: str) -> dict[str, Any]:
    """What fsspec is given besides the URL: for sftp, the host-key policy of the environment."""
    if not is_ssh(url):
        return {}
    from connector_kit import hostkeys  # paramiko is imported for sftp only

    return {"host_key_policy": hostkeys.policy_from_env()}


@dataclass(frozen=True)
class ObjectStat:
    """What a listing says of one object (the names of os.stat_result the callers read)."""

    path: str
    st_size: int
    st_mtime_ns: int
    version: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.path).name

    @property
    def st_mtime(self) -> float:
        return self.st_mtime_ns / 1e9


def _stat(info: dict[str, Any]) -> ObjectStat:
    modified = info.get("LastModified") or info.get("mtime") or info.get("last_modified") or 0
    if isinstance(modified, dt.datetime):
        modified = modified.timestamp()
    mtime_ns = int(float(modified) * 1e9)
    size = int(info.get("size") or 0)
    version = str(info.get("ETag") or info.get("etag") or f"{size}-{mtime_ns}")
    return ObjectStat(info["name"], size, mtime_ns, version)


class RemoteFile(io.RawIOBase):
    """An object opened for reading: stops at the size cap, `changed()` compares a new listing."""

    def __init__(self, folder: RemoteFolder, listed: ObjectStat, rules: files.FileRules) -> None:
        super().__init__()
        if listed.st_size > rules.max_bytes:
            raise files.FileRefused(files.too_large(listed.st_size, rules.max_bytes))
        self.folder = folder
        self.stat = listed
        self.max_bytes = rules.max_bytes
        # range requests of READ_BLOCK bytes: memory holds one block, not the store's default
        # (s3fs reads 50 MiB at a time)
        self._file = folder.fs.open(
            listed.path, "rb", block_size=READ_BLOCK, cache_type="readahead"
        )
        self._read = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        self._file.seek(offset, whence)  # paramiko's returns None
        self._read = self._file.tell()
        return self._read

    def tell(self) -> int:
        return self._read

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        room = self.max_bytes - self._read
        if room <= 0:
            if self._file.read(1):
                raise files.FileRefused(f"file grew over the size cap of {self.max_bytes} bytes")
            return 0
        data = self._file.read(min(len(buffer), room))
        memoryview(buffer)[: len(data)] = data
        self._read += len(data)
        return len(data)

    def changed(self) -> bool:
        now = self.folder.stat(self.stat.path)
        return now is None or (now.st_size, now.version) != (self.stat.st_size, self.stat.version)

    def close(self) -> None:
        if not self.closed:
            self._file.close()
        super().close()


class StoreRefused(OSError):
    """A store that answered but refused us (an sftp login it does not accept)."""


class RemoteFolder:
    """One folder (prefix) of an fsspec store."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        try:
            self.fs, root = fsspec.core.url_to_fs(self.url, **store_options(self.url))
        except OSError:
            raise
        except Exception as error:  # paramiko's refusals (a wrong password) are no OSError
            if not is_ssh(self.url):
                raise
            raise StoreRefused(f"{self}: {error}") from error
        self.root = root.rstrip("/")
        protocol = self.fs.protocol
        self.protocol = protocol if isinstance(protocol, str) else protocol[0]
        self.object_store = self.protocol in OBJECT_STORES

    def __str__(self) -> str:
        return endpoint(self.url)  # what logs show: never a user:password@ in the URL

    def path(self, name: str) -> str:
        return f"{self.root}/{name}"

    def parent(self) -> RemoteFolder:
        if "/" not in self.root:
            raise ValueError(f"{self.url} is a bucket or host root: it has no parent folder")
        return RemoteFolder(self.url.rsplit("/", 1)[0])

    def child(self, name: str) -> RemoteFolder:
        return RemoteFolder(f"{self.url}/{name}")

    def exists(self) -> bool:
        """A bucket that exists (an empty prefix is an empty folder on an object store)."""
        self.fs.invalidate_cache()
        if self.object_store:
            return bool(self.fs.exists(self.root.split("/", 1)[0]))
        return bool(self.fs.isdir(self.root))

    def ensure(self) -> None:
        if not self.object_store:
            self.fs.makedirs(self.root, exist_ok=True)

    def objects(self, pattern: str = "*") -> list[ObjectStat]:
        """The objects directly in the folder whose name matches, oldest first."""
        self.fs.invalidate_cache(self.root)
        try:
            infos = self.fs.ls(self.root, detail=True)
        except FileNotFoundError:
            return []
        found = [
            _stat(info)
            for info in infos
            if info.get("type") == "file"
            and fnmatch.fnmatchcase(PurePosixPath(info["name"]).name, pattern)
        ]
        return sorted(found, key=lambda st: (st.st_mtime_ns, st.name))

    def stat(self, path: str) -> ObjectStat | None:
        self.fs.invalidate_cache(path)
        try:
            return _stat(self.fs.info(path))
        except FileNotFoundError:
            return None

    def check(
        self, listed: ObjectStat, rules: files.FileRules, now: float | None = None
    ) -> tuple[files.Verdict, str]:
        """The local rules that apply to an object: temporary names, size cap, settle time."""
        if files.is_temporary(listed.name):
            return files.Verdict.TEMPORARY, "temporary name"
        if listed.st_size > rules.max_bytes:
            return files.Verdict.REFUSED, files.too_large(listed.st_size, rules.max_bytes)
        age = (time.time() if now is None else now) - listed.st_mtime
        if age < rules.settle_seconds:
            return files.Verdict.UNSETTLED, f"changed {max(age, 0):.1f}s ago"
        return files.Verdict.READY, ""

    def open(
        self, listed: ObjectStat, rules: files.FileRules, buffering: int = 1 << 16
    ) -> tuple[RemoteFile, BinaryIO]:
        raw = RemoteFile(self, listed, rules)
        return raw, io.BufferedReader(raw, buffering)

    def write_atomic(self, name: str, data: bytes) -> str:
        """Readers see the old object or the new one, never a part."""
        target = self.path(name)
        if self.object_store:
            self.fs.pipe_file(target, data)
            return target
        tmp = self.path(f".{name}.{uuid.uuid4().hex[:8]}.tmp")
        self.fs.pipe_file(tmp, data)
        try:
            if self.fs.exists(target):
                self.fs.rm_file(target)  # sftp's rename does not replace
            self.fs.mv(tmp, target)
        except BaseException:
            self.fs.rm_file(tmp)
            raise
        return target

    def free_path(self, name: str) -> str:
        """The path of `name` here, or of a time-stamped name when `name` is taken."""
        self.ensure()
        target = self.path(name)
        if self.stat(target) is not None:
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            target = self.path(f"{stamp}-{name}")
        return target

    def move(self, source: str, name: str) -> str:
        """Move an object here under `name`, never overwriting an earlier one."""
        target = self.free_path(name)
        self.fs.mv(source, target)
        return target

    def set_aside(self, source: str, reason: str) -> str:
        """Move a bad object here with `<name>.reason` beside it (connector_kit.files format)."""
        target = self.move(source, PurePosixPath(source).name)
        self.write_reason(target, reason, self.fs.unstrip_protocol(source))
        return target

    def write_reason(self, target: str, reason: str, source: str) -> None:
        st = self.stat(target)
        size, mtime_ns = (st.st_size, st.st_mtime_ns) if st else (0, 0)
        text = files.reason_text(reason, source, size, mtime_ns)
        self.fs.pipe_file(f"{target}.reason", text.encode("utf-8"))

    def append_segment(self, journal: str, text: str) -> str:
        """An append to `journal` (a name in this folder) as an object of its own."""
        name = f"{journal}{SEGMENT}{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        return self.write_atomic(name, text.encode("utf-8"))

    def segments(self, journal: str) -> list[str]:
        """The journal's appends, oldest first (and the journal itself if someone wrote one)."""
        found = [st.path for st in self.objects(f"{journal}{SEGMENT}*")]
        whole = self.stat(self.path(journal))
        return sorted(found) + ([whole.path] if whole else [])


def folder_of(file_url: str) -> tuple[RemoteFolder, str]:
    """The folder of a file URL and the file's name."""
    parent, _, name = file_url.rstrip("/").rpartition("/")
    return RemoteFolder(parent), name
