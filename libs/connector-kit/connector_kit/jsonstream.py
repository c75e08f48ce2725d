"""JSON records read as a stream (ijson): memory holds one record, whatever the file's size.

A document is either an array of records, an object holding the array under a key, or (when
allowed) one object that is itself the record. Numbers come as int or Decimal, as exact as
the text. Parse errors carry the parser's first line only (never the quoted file content).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import ijson

_STARTS = ("start_map", "start_array")
_ENDS = ("end_map", "end_array")


class InvalidJson(ValueError):
    """The document is not JSON (the message says where: after which record, and why)."""


class JsonShapeError(InvalidJson):
    """The JSON is not shaped as records (not a list, no list under the records key)."""


def _reason(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


Pairs = Callable[[list[tuple[str, Any]]], Any]


class _Object:
    __slots__ = ("key", "pairs")

    def __init__(self) -> None:
        self.pairs: list[tuple[str, Any]] = []
        self.key = ""


class _Builder:
    """Builds one value from ijson events; objects through `pairs` (default: dict)."""

    def __init__(self, pairs: Pairs) -> None:
        self.pairs = pairs
        self.stack: list[list[Any] | _Object] = []
        self.value: Any = None

    def event(self, event: str, value: Any) -> bool:
        """Feed one event; True when the value is complete."""
        if event == "map_key":
            top = self.stack[-1]
            assert isinstance(top, _Object)
            top.key = value
            return False
        if event == "start_map":
            self.stack.append(_Object())
            return False
        if event == "start_array":
            self.stack.append([])
            return False
        if event == "end_map":
            done = self.stack.pop()
            assert isinstance(done, _Object)
            return self._add(self.pairs(done.pairs))
        if event == "end_array":
            return self._add(self.stack.pop())
        return self._add(value)

    def _add(self, value: Any) -> bool:
        if not self.stack:
            self.value = value
            return True
        top = self.stack[-1]
        if isinstance(top, _Object):
            top.pairs.append((top.key, value))
        else:
            top.append(value)
        return False


class JsonRecords:
    """Iterate the records of one JSON document; `single` tells a lone object from an array."""

    def __init__(
        self,
        stream: BinaryIO,
        *,
        records_key: str | None = None,
        allow_single: bool = False,
        pairs: Pairs = dict,
    ) -> None:
        self.stream = stream
        self.records_key = records_key
        self.allow_single = allow_single
        self.pairs = pairs
        self.single = False
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        events = ijson.basic_parse(self.stream, use_float=False)
        try:
            yield from self._records(events)
            for _ in events:  # the rest must parse too: trailing garbage is an error
                pass
        except ijson.JSONError as error:
            where = f" after record {self.count}" if self.count else ""
            raise InvalidJson(f"invalid JSON{where}: {_reason(error)}") from None

    def _records(self, events: Iterator[tuple[str, Any]]) -> Iterator[Any]:
        first = next(events, None)
        if first is None:
            raise InvalidJson("invalid JSON: empty document")
        event, _ = first
        if self.records_key is not None:
            if event != "start_map" or not self._seek_key(events):
                raise JsonShapeError(
                    f"JSON document must be an object with a list under {self.records_key!r}"
                )
            yield from self._array(events)
            return
        if event == "start_array":
            yield from self._array(events)
            return
        if event == "start_map" and self.allow_single:
            builder = _Builder(self.pairs)
            builder.event(event, None)
            for event, value in events:
                if builder.event(event, value):
                    break
            self.single = True
            self.count = 1
            yield builder.value
            return
        raise JsonShapeError("JSON document must be a list of records")

    def _seek_key(self, events: Iterator[tuple[str, Any]]) -> bool:
        """Skip the object's other members up to `records_key`; True when its list follows."""
        depth = 1
        for event, value in events:
            if depth == 1 and event == "map_key" and value == self.records_key:
                nxt = next(events, (None, None))[0]
                return nxt == "start_array"
            if event in _STARTS:
                depth += 1
            elif event in _ENDS:
                depth -= 1
                if depth == 0:
                    return False
        return False

    def _array(self, events: Iterator[tuple[str, Any]]) -> Iterator[Any]:
        builder: _Builder | None = None
        for event, value in events:
            if builder is None:
                if event == "end_array":
                    return
                if event in _STARTS:
                    builder = _Builder(self.pairs)
                    builder.event(event, value)
                    continue
                self.count += 1
                yield value
                continue
            if builder.event(event, value):
                self.count += 1
                yield builder.value
                builder = None
