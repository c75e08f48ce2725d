"""Feeds: one partner file (bytes), read into canonical raw rows through the partner's adapter.

Reading is split in two so that a corrupt feed is found before anything is yielded:
`check()` parses the whole file and raises FeedRejected on any structural fault; only then
are `rows()` produced, so a truncated or corrupt file never loads half.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from pipelines.partner_feeds.registry import REQUIRED_COLUMNS, PartnerAdapter

FORMATS = {".csv": "csv", ".json": "json"}


class FeedRejected(ValueError):
    """The whole feed is unusable (cannot be decoded or parsed, or its header is wrong)."""


class Feed:
    """One feed from one partner: a landing-folder file, or bytes from an upload."""

    def __init__(
        self, partner: str, name: str, content: bytes | None = None, path: Path | None = None
    ) -> None:
        if content is None and path is None:
            raise ValueError("a feed needs content or a path")
        self.partner = partner
        self.name = name
        self.path = path
        self._content = content
        self._checksum: str | None = None

    def __repr__(self) -> str:
        return f"Feed(partner={self.partner!r}, name={self.name!r})"

    @classmethod
    def from_path(cls, partner: str, path: Path) -> Feed:
        return cls(partner=partner, name=path.name, path=path)

    @property
    def content(self) -> bytes:
        if self._content is None:
            assert self.path is not None
            self._content = self.path.read_bytes()
        return self._content

    def release(self) -> None:
        """Drop the bytes once processed (a file feed can read them again)."""
        if self.path is not None:
            self._content = None

    @property
    def checksum(self) -> str:
        """sha256 of the exact bytes: the idempotency key, together with the partner."""
        if self._checksum is None:
            if self._content is None and self.path is not None:
                with self.path.open("rb") as fh:
                    self._checksum = hashlib.file_digest(fh, "sha256").hexdigest()
            else:
                self._checksum = hashlib.sha256(self.content).hexdigest()
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


class FeedReader:
    """Decode and parse one feed with its partner's adapter."""

    def __init__(self, feed: Feed, adapter: PartnerAdapter) -> None:
        self.feed = feed
        self.adapter = adapter
        self._text: str | None = None
        self._records: list[Any] | None = None

    def check(self) -> int:
        """Parse the whole feed; return its row count or raise FeedRejected with a clear reason."""
        return sum(1 for _ in self.rows())

    def rows(self) -> Iterator[RawRow]:
        if self.feed.format == "json":
            yield from self._json_rows()
        else:
            yield from self._csv_rows()

    def text(self) -> str:
        if self._text is None:
            self._text = self._decode()
        return self._text

    def _decode(self) -> str:
        content = self.feed.content
        encoding = self.adapter.encoding
        if content.startswith(codecs.BOM_UTF8):
            content, encoding = content[len(codecs.BOM_UTF8) :], "utf-8"
        elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        try:
            return content.decode(encoding)
        except UnicodeDecodeError as exc:
            raise FeedRejected(
                f"cannot decode as {encoding} at byte {exc.start}: {exc.reason}"
                " (set the partner's encoding in partners.yaml)"
            ) from None

    def _csv_rows(self) -> Iterator[RawRow]:
        text = self.text()
        reader = csv.reader(
            io.StringIO(text, newline=""),
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
                raw = dict(zip(header, values, strict=True))
                fields = {canonical: values[i] for i, canonical in columns.items()}
                yield RawRow(number, fields, raw)
        except csv.Error as exc:
            raise FeedRejected(f"corrupt CSV at line {reader.line_num}: {exc}") from None

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
            raise FeedRejected(f"wrong header: missing {', '.join(missing)} (found: {found})")
        return columns

    def _json_rows(self) -> Iterator[RawRow]:
        for number, record in enumerate(self._json_records(), start=1):
            if not isinstance(record, dict):
                yield RawRow(number, {}, {"value": record})  # rejected by validation: no sku
                continue
            fields: dict[str, Any] = {}
            for key, value in record.items():
                canonical = self.adapter.column_for(str(key))
                if canonical is not None and canonical not in fields:
                    fields[canonical] = value
            yield RawRow(number, fields, record)

    def _json_records(self) -> list[Any]:
        if self._records is None:
            try:
                # Decimal keeps prices exact; NaN/Infinity are not JSON and not prices
                document = json.loads(self.text(), parse_float=Decimal, parse_constant=_no_constant)
            except json.JSONDecodeError as exc:
                raise FeedRejected(
                    f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
                ) from None
            except ValueError as exc:
                raise FeedRejected(f"invalid JSON: {exc}") from None
            key = self.adapter.json_records
            if key is not None:
                if not isinstance(document, dict) or not isinstance(document.get(key), list):
                    raise FeedRejected(f"JSON feed must be an object with a list under {key!r}")
                document = document[key]
            if not isinstance(document, list):
                raise FeedRejected("JSON feed must be a list of product objects")
            self._records = document
        return self._records


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")
