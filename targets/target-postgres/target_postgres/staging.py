"""Byte streams COPY can read, one per kind of input, with as little per-row Python as we can.

- records (RECORD messages): COPY text format, one encoder per column;
- parquet BATCH files: pyarrow writes CSV straight from the columns (C++), nothing per row;
- jsonl(.gz) BATCH files: the raw lines go to COPY untouched and Postgres parses them
  (json_to_record), so Python only decompresses.

PostgreSQL text cannot hold NUL (U+0000): every path replaces it with U+FFFD, and so does the
records path with a lone surrogate (connector_kit.pgtext, the rule shared with partner feeds).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import gzip
import io
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import simplejson
from connector_kit.pgtext import JSON_LINE_COPY_OPTIONS, REPLACEMENT, storable

from target_postgres.columns import Column

NUL_REPLACEMENT = REPLACEMENT  # the shared rule: connector_kit.pgtext
_TEXT_ESCAPES = str.maketrans(
    {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\x00": NUL_REPLACEMENT}
)
# a JSON \u0000 escape preceded by an even number of backslashes (an odd number means the
# backslash itself was escaped and the text "\u0000" is literal, which is kept)
_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")
_JSON_NUL_BYTES = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")
# what COPY reads from: a file, a BytesIO or one of the chunk readers below
ByteStream = IO[bytes] | io.RawIOBase


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def json_text(value: Any) -> str:
    """Exact JSON: Decimals stay numbers, NUL escapes become U+FFFD (jsonb refuses \\u0000)."""
    text = simplejson.dumps(
        value, use_decimal=True, default=_json_default, ensure_ascii=False, separators=(",", ":")
    )
    if "\\u0000" in text:
        text = _JSON_NUL.sub(r"\1\\ufffd", text)
    return text


def _encode_any(value: Any) -> str:
    kind = type(value)
    if kind is str:
        return value.translate(_TEXT_ESCAPES)
    if kind is bool:
        return "t" if value else "f"
    if kind is int or kind is decimal.Decimal or kind is float:
        return str(value)
    if kind is dt.datetime or kind is dt.date or kind is dt.time:
        return value.isoformat()
    if kind is dict or kind is list:
        return json_text(value).translate(_TEXT_ESCAPES)
    return str(value).translate(_TEXT_ESCAPES)


def _encode_json(value: Any) -> str:
    return json_text(value).translate(_TEXT_ESCAPES)


def column_encoder(column: Column) -> Callable[[Any], str]:
    return _encode_json if column.is_json else _encode_any


@dataclass
class Source:
    """What a batch brings: the COPY options, the columns it fills, and how to read it again."""

    columns: list[str]  # conformed target column names the stream fills, in COPY order
    copy_options: str
    opener: Callable[[], ByteStream]
    is_json_lines: bool = False
    props: dict[str, str] | None = None  # column -> JSON key, for json lines
    constants: dict[str, Any] = field(default_factory=dict)  # column -> value the file lacks
    mirror: dict[str, str] = field(default_factory=dict)  # column -> column it copies

    def open(self) -> ByteStream:
        return self.opener()


class _ChunkReader(io.RawIOBase):
    """A read()-able byte stream over chunks made on a helper thread.

    pyarrow and zlib release the GIL, and so does libpq while sending, so decoding the
    next chunk overlaps with Postgres ingesting the previous one. The queue is bounded:
    memory stays at a few chunks whatever the file size.
    """

    _END = object()

    def __init__(self, chunks: Iterator[bytes], depth: int = 4) -> None:
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._pending = memoryview(b"")
        self._done = False
        self._thread = threading.Thread(target=self._produce, args=(chunks,), daemon=True)
        self._thread.start()

    def _produce(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                if self._stop.is_set():
                    return
                self._queue.put(chunk)
            self._queue.put(self._END)
        except BaseException as exc:  # handed to the reading side
            self._queue.put(exc)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._pending and not self._done:
            item = self._queue.get()
            if item is self._END:
                self._done = True
            elif isinstance(item, BaseException):
                self._done = True
                raise item
            else:
                self._pending = memoryview(item)
        size = len(self._pending) if size is None or size < 0 else size
        data, self._pending = self._pending[:size], self._pending[size:]
        return bytes(data)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        super().close()


def records_source(records: Sequence[dict[str, Any]], columns: list[Column]) -> Source:
    """RECORD messages: encoded once to COPY text format, replayable from the same buffer."""
    encoders = [(c.prop, column_encoder(c)) for c in columns]
    lines = []
    for record in records:
        get = record.get
        lines.append(
            "\t".join("\\N" if (v := get(prop)) is None else enc(v) for prop, enc in encoders)
        )
    text = "\n".join(lines) + "\n" if lines else ""
    try:
        payload = text.encode()
    except UnicodeEncodeError:  # a lone surrogate (a JSON \ud800 escape): U+FFFD, like NUL
        payload = storable(text).encode()
    return Source(
        columns=[c.name for c in columns],
        copy_options="FORMAT text",
        opener=lambda: io.BytesIO(payload),
    )


def _arrow_for_csv(batch: pa.RecordBatch, wanted: dict[str, Column]) -> pa.RecordBatch:
    """Keep the stream's columns under their target names; strings NUL-free; nested as JSON."""
    arrays, names = [], []
    for prop, original in zip(batch.schema.names, batch.columns, strict=True):
        column = wanted.get(prop)
        if column is None:
            continue
        array, kind = original, original.type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            array = pc.replace_substring(array, "\x00", NUL_REPLACEMENT)
            if column.is_json:
                array = _without_json_nul_escapes(array)
        elif pa.types.is_timestamp(kind) and kind.tz is not None:
            # Arrow keeps UTC instants; written without a zone (the session is UTC) it is
            # ~20x faster than per-value time zone formatting
            array = array.cast(pa.timestamp(kind.unit))
        elif pa.types.is_nested(kind) or pa.types.is_binary(kind) or column.is_json:
            array = pa.array(
                [None if v is None else json_text(v) for v in array.to_pylist()], pa.string()
            )
        arrays.append(array)
        names.append(column.name)
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _without_json_nul_escapes(array: pa.Array) -> pa.Array:
    """JSON texts for jsonb: \\u0000 escapes -> \\ufffd (RE2 has no lookbehind, so the
    preceding character is matched; a second pass catches back-to-back escapes)."""
    for _ in range(4):
        if not pc.any(pc.match_substring(array, "\\u0000")).as_py():
            break
        array = pc.replace_substring_regex(array, r"((?:^|[^\\])(?:\\\\)*)\\u0000", r"\1\\ufffd")
    return array


def parquet_source(opener: Callable[[], IO[bytes]], columns: list[Column]) -> Source:
    """A parquet file written as CSV by pyarrow while COPY reads it: no per-row Python."""
    wanted = {c.prop: c for c in columns}
    file_schema = pq.read_schema(opener())
    present = [p for p in file_schema.names if p in wanted]

    def chunks() -> Iterator[bytes]:
        with opener() as handle:
            parquet = pq.ParquetFile(handle)
            options = pcsv.WriteOptions(include_header=False, batch_size=8192)
            for batch in parquet.iter_batches(batch_size=65_536, columns=present):
                buffer = io.BytesIO()
                pcsv.write_csv(_arrow_for_csv(batch, wanted), buffer, write_options=options)
                yield buffer.getvalue()

    return Source(
        columns=[wanted[p].name for p in present],
        copy_options="FORMAT csv",
        opener=lambda: _ChunkReader(chunks()),
    )


def _json_line_chunks(handle: IO[bytes] | gzip.GzipFile, size: int = 1 << 20) -> Iterator[bytes]:
    """Line-aligned chunks, with JSON NUL escapes swapped for U+FFFD (C regex, rare)."""
    while True:
        chunk = handle.read(size)
        if not chunk:
            return
        if not chunk.endswith(b"\n"):
            chunk += handle.readline()
        if b"\\u0000" in chunk:
            chunk = _JSON_NUL_BYTES.sub(rb"\1\\ufffd", chunk)
        yield chunk


def jsonl_source(
    opener: Callable[[], IO[bytes]], compressed: bool, columns: list[Column]
) -> Source:
    """JSON lines handed to Postgres as they are; it parses them into the typed columns."""

    def chunks() -> Iterator[bytes]:
        with opener() as raw:
            handle: IO[bytes] | gzip.GzipFile = (
                gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            )
            yield from _json_line_chunks(handle)

    return Source(
        columns=[c.name for c in columns],
        copy_options=JSON_LINE_COPY_OPTIONS,
        opener=lambda: _ChunkReader(chunks()),
        is_json_lines=True,
        props={c.name: c.prop for c in columns},
    )
