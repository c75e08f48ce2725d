"""Feeds: one partner file (or uploaded bytes), read into canonical raw rows by its adapter.

Reading is a stream (csv over a text stream, ijson for JSON): memory holds one row, whatever
the feed's size. It is done in two passes so that a corrupt feed is found before anything is
yielded: `check()` reads the whole feed and raises FeedRejected on any structural fault; only
then are `rows()` produced, so a truncated or corrupt file never loads half. Files are opened
through connector_kit.files (regular files only, links never followed, size cap).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from connector_kit import files
from connector_kit.jsonstream import InvalidJson, JsonRecords, JsonShapeError, Prefixed

from pipelines.partner_feeds.registry import REQUIRED_COLUMNS, PartnerAdapter

FORMATS = {".csv": "csv", ".json": "json"}
DEFAULT_MAX_FIELD_CHARS = 131_072
# csv's own cap per field: far above the row-level limit, so an oversize field rejects its row;
# only a runaway field (an unterminated quote running on) rejects the feed.
_CSV_HARD_LIMIT = 16 * 1024 * 1024


class FeedRejected(ValueError):
    """The whole feed is unusable (cannot be decoded or parsed, or its header is wrong)."""


class Feed:
    """One feed from one partner: a landing-folder file, or bytes from an upload.

    A file feed is opened by path at each read, and each open checks it is still the file
    that was listed (same inode, size and mtime). `refused` holds why a landing entry is not
    a file we may read (a link, a FIFO, too large): it becomes a failed feed with that reason.
    """

    def __init__(
        self,
        partner: str,
        name: str,
        content: bytes | None = None,
        path: Path | None = None,
        *,
        listed: os.stat_result | None = None,
        rules: files.FileRules | None = None,
        refused: str | None = None,
    ) -> None:
        if content is None and path is None:
            raise ValueError("a feed needs content or a path")
        self.partner = partner
        self.name = name
        self.path = path
        self.listed = listed
        self.rules = rules or files.FileRules()
        self.refused = refused
        self._content = content
        self._checksum: str | None = None

    def __repr__(self) -> str:
        return f"Feed(partner={self.partner!r}, name={self.name!r})"

    @classmethod
    def from_path(
        cls,
        partner: str,
        path: Path,
        listed: os.stat_result | None = None,
        rules: files.FileRules | None = None,
    ) -> Feed:
        return cls(partner=partner, name=path.name, path=path, listed=listed, rules=rules)

    @classmethod
    def refused_entry(cls, partner: str, path: Path, reason: str) -> Feed:
        return cls(partner=partner, name=path.name, path=path, refused=reason)

    def open(self) -> BinaryIO:
        """The feed's bytes as a stream (a file: opened safely, as it was listed)."""
        if self._content is not None:
            return io.BytesIO(self._content)
        assert self.path is not None
        _, stream = files.open_file(self.path, self.rules, expected=self.listed)
        return stream

    def release(self) -> None:
        """Nothing is held between reads; kept for callers that free a feed once processed."""

    @property
    def checksum(self) -> str:
        """sha256 of the exact bytes: the idempotency key, together with the partner."""
        if self._checksum is None:
            if self.refused is not None:
                self._checksum = ""
            elif self._content is not None:
                self._checksum = hashlib.sha256(self._content).hexdigest()
            else:
                with self.open() as fh:
                    digest = hashlib.sha256()
                    while chunk := fh.read(1 << 20):
                        digest.update(chunk)
                    self._checksum = digest.hexdigest()
        return self._checksum

    @property
    def format(self) -> str:
        suffix = Path(self.name).suffix.lower()
        if suffix in FORMATS:
            return FORMATS[suffix]
        raise FeedRejected(f"unsupported file type {suffix or '(none)'!r}; expected .csv or .json")


@dataclass(frozen=True)
class RawRow:
    """A row in canonical field names (`fields`) and exactly as the partner sent it (`raw`)."""

    number: int  # 1-based data row (CSV: the header is row 0), for the rejects table
    fields: dict[str, Any]
    raw: dict[str, Any]
    problem: str | None = None  # set when the row is rejected while read (an oversize field)


class _Counted(io.RawIOBase):
    """Counts the bytes handed to the decoder, to place a decoding error in the file."""

    def __init__(self, stream: BinaryIO) -> None:
        super().__init__()
        self.stream = stream
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _Record(dict[str, Any]):
    """A JSON object that notices a member name given twice (JSON keeps the last)."""

    repeated: tuple[str, ...] = ()

    def __setitem__(self, key: str, value: Any) -> None:
        if key in self:
            self.repeated = (*self.repeated, key)
        super().__setitem__(key, value)


class FeedReader:
    """Decode and parse one feed with its partner's adapter, as a stream."""

    def __init__(
        self, feed: Feed, adapter: PartnerAdapter, max_field_chars: int = DEFAULT_MAX_FIELD_CHARS
    ) -> None:
        self.feed = feed
        self.adapter = adapter
        self.max_field_chars = max_field_chars
        self.checksum: str | None = None  # sha256 of what the last full pass read

    def check(self) -> int:
        """Read the whole feed; return its row count or raise FeedRejected with a clear reason.

        A file whose bytes are no longer those listed (checksum) raises files.FileChanged.
        """
        count = sum(1 for _ in self.rows())
        if self.feed.path is not None and self.checksum != self.feed.checksum:
            raise files.FileChanged("feed changed since it was listed")
        return count

    def rows(self) -> Iterator[RawRow]:
        fmt = self.feed.format
        with self.feed.open() as stream:
            hashing = files.HashingReader(stream)
            if fmt == "json":
                yield from self._json_rows(hashing)  # type: ignore[arg-type]
            else:
                yield from self._csv_rows(hashing)  # type: ignore[arg-type]
            while hashing.read(1 << 16):  # hash to the end (a CSV may stop at blank lines)
                pass
            self.checksum = hashing.sha256.hexdigest()

    def _text(self, stream: BinaryIO) -> tuple[io.TextIOWrapper[Any], _Counted, str]:
        head = stream.read(3)
        encoding = self.adapter.encoding
        if head.startswith(codecs.BOM_UTF8):
            head, encoding = b"", "utf-8"
        elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        counted = _Counted(Prefixed(head, stream))  # type: ignore[arg-type]
        text = io.TextIOWrapper(counted, encoding=encoding, newline="")  # type: ignore[type-var]
        return text, counted, encoding

    def _csv_rows(self, stream: BinaryIO) -> Iterator[RawRow]:
        text, counted, encoding = self._text(stream)
        hard_limit = max(_CSV_HARD_LIMIT, 2 * self.max_field_chars)
        csv.field_size_limit(max(csv.field_size_limit(), hard_limit))
        reader = csv.reader(
            text,
            delimiter=self.adapter.delimiter,
            quotechar=self.adapter.quotechar,
            strict=True,  # an unterminated quote is an error, not a value running to EOF
        )
        try:
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise FeedRejected("empty feed: no header row")
            columns = self._map_header(header)
            for number, values in enumerate(reader, start=1):
                if not values or (len(values) == 1 and not values[0].strip()):
                    continue  # blank line
                if len(values) != len(header):
                    raise FeedRejected(
                        f"row {number} has {len(values)} fields, the header has {len(header)}"
                        " (truncated or corrupt file?)"
                    )
                yield self._csv_row(number, header, values, columns)
        except csv.Error as exc:
            raise FeedRejected(f"corrupt CSV at line {reader.line_num}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, counted, encoding) from None

    def _csv_row(
        self, number: int, header: list[str], values: list[str], columns: dict[int, str]
    ) -> RawRow:
        if max(map(len, values)) > self.max_field_chars:
            first = next(i for i, v in enumerate(values) if len(v) > self.max_field_chars)
            problem = (
                f"field {header[first].strip()!r} has {len(values[first])} characters, over the"
                f" limit of {self.max_field_chars} (setting max_field_chars)"
            )
            raw = {
                h: files.excerpt(v) if len(v) > files.EXCERPT_CHARS else v
                for h, v in zip(header, values, strict=True)
            }
            return RawRow(number, {}, raw, problem)
        raw = dict(zip(header, values, strict=True))
        fields = {canonical: values[i] for i, canonical in columns.items()}
        return RawRow(number, fields, raw)

    def _map_header(self, header: list[str]) -> dict[int, str]:
        columns: dict[int, str] = {}
        for index, name in enumerate(header):
            canonical = self.adapter.column_for(name)
            if canonical is None:
                continue
            if canonical in columns.values():
                first = header[next(i for i, c in columns.items() if c == canonical)]
                raise FeedRejected(
                    f"wrong header: columns {first!r} and {name!r} both mean {canonical}"
                )
            columns[index] = canonical
        missing = [c for c in REQUIRED_COLUMNS if c not in columns.values()]
        if missing:
            found = ", ".join(h.strip() for h in header)
            raise FeedRejected(
                f"wrong header: missing {', '.join(missing)} (found: {files.excerpt(found)})"
            )
        return columns

    def _json_rows(self, stream: BinaryIO) -> Iterator[RawRow]:
        # decoded with the partner's encoding (BOM handled), handed to ijson as UTF-8
        text, counted, encoding = self._text(stream)
        records = JsonRecords(
            _Utf8(text),  # type: ignore[arg-type]
            records_key=self.adapter.json_records,
            map_type=_Record,
        )
        try:
            for number, record in enumerate(records, start=1):
                if not isinstance(record, _Record):
                    yield RawRow(number, {}, {"value": record})  # rejected by validation: no sku
                    continue
                yield RawRow(number, self._json_fields(number, record), record)
        except JsonShapeError:
            key = self.adapter.json_records
            if key is not None:
                raise FeedRejected(
                    f"JSON feed must be an object with a list under {key!r}"
                ) from None
            raise FeedRejected("JSON feed must be a list of product objects") from None
        except InvalidJson as exc:
            raise FeedRejected(str(exc)) from None
        except UnicodeDecodeError as exc:
            raise _undecodable(exc, counted, encoding) from None

    def _json_fields(self, number: int, record: _Record) -> dict[str, Any]:
        """Canonical fields of one object; two names for one column reject the feed, as in CSV."""
        fields: dict[str, Any] = {}
        names: dict[str, str] = {}
        for key in (*record, *record.repeated):
            canonical = self.adapter.column_for(str(key))
            if canonical is None:
                continue
            if canonical in names:
                raise FeedRejected(
                    f"wrong fields in record {number}: {names[canonical]!r} and {key!r}"
                    f" both mean {canonical}"
                )
            fields[canonical], names[canonical] = record[key], key
        return fields


def _undecodable(exc: UnicodeDecodeError, counted: _Counted, encoding: str) -> FeedRejected:
    at = counted.count - len(exc.object) + exc.start  # where in the file, not in the chunk
    return FeedRejected(
        f"cannot decode as {encoding} at byte {at}: {exc.reason}"
        " (set the partner's encoding in partners.yaml)"
    )


class _Utf8:
    """A decoded text stream read back as UTF-8 bytes (what ijson parses)."""

    def __init__(self, text: io.TextIOWrapper[Any]) -> None:
        self.text = text

    def read(self, size: int = -1) -> bytes:
        return self.text.read(size).encode("utf-8", "surrogatepass")
