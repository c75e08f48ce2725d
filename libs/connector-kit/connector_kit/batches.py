"""Singer BATCH files read back as records, and records written out as new BATCH files.

For plugins that work record by record (a mapper, an API target) but take BATCH messages:
a file is read in chunks (never whole), parquet through pyarrow and JSON lines (gzip or
plain) through msgspec. Records look as they would in RECORD messages: parquet dates and
timestamps become ISO 8601 strings (UTC, `+00:00`), converted column-wise, which is also
twice as fast as building datetime objects. Only local files (a path or a file:// URL) are
supported.
"""

from __future__ import annotations

import gzip
import uuid
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec

CHUNK_ROWS = 10_000
JSONL_GZIP = {"format": "jsonl", "compression": "gzip"}


def local_path(url: str) -> Path:
    """The file behind a manifest entry; remote storage is refused with a clear error."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme == "":
        return Path(url)
    msg = f"BATCH file {url!r}: only local files (a path or file://) are supported"
    raise ValueError(msg)


def encoding_of(encoding: Any) -> tuple[str, str]:
    """(format, compression) of a BATCH encoding, given as the message's dict or the SDK's object."""
    if isinstance(encoding, Mapping):
        fmt, compression = encoding.get("format"), encoding.get("compression")
    else:
        fmt, compression = encoding.format, encoding.compression
    return str(getattr(fmt, "value", fmt)), str(compression or "none")


def read_records(encoding: Any, url: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[list[dict]]:
    """The records of one BATCH file, `chunk_rows` at a time."""
    fmt, compression = encoding_of(encoding)
    path = local_path(url)
    if fmt == "parquet":
        import pyarrow.parquet as pq  # only parquet users pay for pyarrow

        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                yield _iso_dates(batch).to_pylist()
        return
    if fmt != "jsonl":
        msg = f"BATCH file {url!r}: unsupported format {fmt!r} (expected jsonl or parquet)"
        raise ValueError(msg)
    decode = msgspec.json.Decoder().decode
    opener = gzip.open if compression in {"gzip", "gz"} else open
    with opener(path, "rb") as lines:
        chunk: list[dict] = []
        for line in lines:
            if line.strip():
                chunk.append(decode(line))
            if len(chunk) >= chunk_rows:
                yield chunk
                chunk = []
        if chunk:
            yield chunk


def _iso_dates(batch: Any) -> Any:
    """Date and timestamp columns as the ISO 8601 strings a RECORD message would carry."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for index, field in enumerate(batch.schema):
        column = batch.column(index)
        if pa.types.is_timestamp(field.type):
            if field.type.tz is None:
                text = pc.strftime(column, format="%Y-%m-%dT%H:%M:%S")
            else:  # %S carries the fraction the unit has (.000000 for microseconds)
                utc = column.cast(pa.timestamp(field.type.unit, "UTC"))
                text = pc.binary_join_element_wise(
                    pc.strftime(utc, format="%Y-%m-%dT%H:%M:%S"), "+00:00", ""
                )
        elif pa.types.is_date(field.type):
            text = pc.strftime(column, format="%Y-%m-%d")
        else:
            continue
        batch = batch.set_column(index, field.name, text)
    return batch


def write_jsonl_gz(directory: Path, stem: str, records: Iterable[Mapping[str, Any]]) -> Path:
    """Records as a new gzip JSON-lines file in `directory` (renamed into place when complete)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}-{uuid.uuid4().hex[:8]}.jsonl.gz"
    partial = path.with_name(path.name + ".part")
    encode = msgspec.json.Encoder().encode
    with gzip.open(partial, "wb", compresslevel=1) as out:
        for record in records:
            out.write(encode(record) + b"\n")
    partial.rename(path)
    return path
