"""A lone surrogate escape in a JSON string becomes U+FFFD, the project's rule for text a
destination cannot hold, never the C parser's `?`, whatever the read size cuts."""

from __future__ import annotations

import io

import pytest
from connector_kit.jsonstream import JsonRecords


class Trickle(io.BytesIO):
    """A stream that hands out at most `n` bytes per read."""

    def __init__(self, data: bytes, n: int) -> None:
        super().__init__(data)
        self.n = n

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self.n if size is None or size < 0 or size > self.n else size)


CASES = [
    (rb'[{"a":"Gear \ud800"}]', "Gear \ufffd"),  # lone high
    (rb'[{"a":"\udc00 end"}]', "\ufffd end"),  # lone low
    (rb'[{"a":"x\ud83d\ude00y"}]', "x\U0001f600y"),  # a pair stays one character
    (rb'[{"a":"\ud800\ud800\udc00"}]', "\ufffd\U00010000"),  # lone, then a pair
    (rb'[{"a":"\\ud800"}]', "\\ud800"),  # an escaped backslash, then text
    (rb'[{"a":"\\\\\\\\\ud800"}]', "\\\\\\\\\ufffd"),  # a run of escaped backslashes
    (rb'[{"a":"\"q\"?"}]', '"q"?'),  # other escapes and a real `?` untouched
]


@pytest.mark.parametrize("size", [1, 2, 5, 11, 12, 13, 64, 65536])
@pytest.mark.parametrize(("document", "value"), CASES)
def test_lone_surrogates_become_the_replacement_character(
    document: bytes, value: str, size: int
) -> None:
    assert list(JsonRecords(Trickle(document, size))) == [{"a": value}]
