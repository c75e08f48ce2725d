"""JSON records read as a stream (ijson, C backend): memory holds one record, whatever the size.

A document is either an array of records, an object holding the array under a key, or (when
allowed) one object that is itself the record. Numbers come as int or Decimal, as exact as
the text. Parse errors carry the parser's first line only (never the quoted file content).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

import ijson

_WHITESPACE = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


class InvalidJson(ValueError):
    """The document is not JSON (the message says where: after which record, and why)."""


class JsonShapeError(InvalidJson):
    """The JSON is not shaped as records (not a list, no list under the records key)."""


def _reason(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


# An escape, read left to right so an escaped backslash is one unit: a surrogate pair, a
# lone surrogate, or any other escape.
_ESCAPE = re.compile(
    rb"\\(?P<pair>u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    rb"|\\(?P<lone>u[dD][89a-fA-F][0-9a-fA-F]{2})"
    rb"|\\."
)
_REPLACEMENT = rb"\ufffd"


class _LoneSurrogates:
    """The stream with each lone surrogate escape (`\\ud800` without its pair) as U+FFFD.

    The C parser would turn one into `?`, a plain character that hides the change; U+FFFD is
    the project's rule for text a destination cannot hold (connector_kit.pgtext).
    """

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.carry = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self.stream.read(size)
        data, self.carry = self.carry + chunk, b""
        if chunk:  # hold back from the first escape the chunk may have cut, or whose pair
            limit = len(data) - 12  # (the next 6 bytes) it has not seen yet
            for match in _ESCAPE.finditer(data):
                if match.end() > limit:
                    data, self.carry = data[: match.start()], data[match.start() :]
                    break
            else:
                if data.endswith(b"\\"):  # a backslash whose escaped character is to come
                    data, self.carry = data[:-1], data[-1:]
            if not data:
                return self.read(size)
        if b"\\" not in data:
            return data
        return _ESCAPE.sub(lambda m: _REPLACEMENT if m.group("lone") else m.group(0), data)


class Prefixed:
    """A stream with a few already-read bytes put back in front."""

    def __init__(self, head: bytes, stream: BinaryIO | _LoneSurrogates) -> None:
        self.head = head
        self.stream = stream

    def read(self, size: int = -1) -> bytes:
        if not self.head:
            return self.stream.read(size)
        head, self.head = self.head, b""
        if size < 0:
            return head + self.stream.read()
        if len(head) >= size:
            self.head = head[size:]
            return head[:size]
        return head + self.stream.read(size - len(head))


class _Peeked(Prefixed):
    """The stream with its first bytes read to see the document's shape, then put back."""

    def __init__(self, stream: BinaryIO | _LoneSurrogates) -> None:
        head = stream.read(64)
        if head.startswith(_BOM):
            head = head[len(_BOM) :]
        while head and not head.lstrip(_WHITESPACE):
            more = stream.read(64)
            if not more:
                break
            head += more
        super().__init__(head, stream)
        self.first = head.lstrip(_WHITESPACE)[:1]


class JsonRecords:
    """Iterate the records of one JSON document; `single` tells a lone object from an array.

    `map_type` builds the objects (ijson calls its __setitem__ for each member, so a dict
    subclass can notice a repeated name).
    """

    def __init__(
        self,
        stream: BinaryIO,
        *,
        records_key: str | None = None,
        allow_single: bool = False,
        map_type: type[dict[str, Any]] = dict,
    ) -> None:
        self.stream = stream
        self.records_key = records_key
        self.allow_single = allow_single
        self.map_type = map_type
        self.single = False
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        peeked = _Peeked(_LoneSurrogates(self.stream))
        if not peeked.first:
            raise InvalidJson("invalid JSON: empty document")
        prefix = self._prefix(peeked.first)
        found: list[bool] = []
        source: Any = peeked
        if self.records_key is not None:  # watch for the list itself: it may be empty
            source = self._watch(ijson.parse(peeked, use_float=False), found)
        try:
            for record in ijson.items(source, prefix, use_float=False, map_type=self.map_type):
                self.count += 1
                yield record
        except ijson.JSONError as error:
            where = f" after record {self.count}" if self.count else ""
            raise InvalidJson(f"invalid JSON{where}: {_reason(error)}") from None
        if self.records_key is not None and not found:
            raise JsonShapeError(self._shape())

    def _prefix(self, first: bytes) -> str:
        if self.records_key is not None:
            if first != b"{":
                raise JsonShapeError(self._shape())
            return f"{self.records_key}.item"
        if first == b"[":
            return "item"
        if first == b"{" and self.allow_single:
            self.single = True
            return ""
        raise JsonShapeError(self._shape())

    def _shape(self) -> str:
        if self.records_key is not None:
            return f"JSON document must be an object with a list under {self.records_key!r}"
        return "JSON document must be a list of records"

    def _watch(
        self, events: Iterator[tuple[str, str, Any]], found: list[bool]
    ) -> Iterator[tuple[str, str, Any]]:
        expected = (self.records_key, "start_array")
        for event in events:
            if not found and event[:2] == expected:
                found.append(True)
            yield event
