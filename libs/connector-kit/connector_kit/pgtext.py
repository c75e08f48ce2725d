"""Text PostgreSQL cannot store, and the one rule every path that loads into it follows.

PostgreSQL `text` (and strings inside `jsonb`) cannot hold U+0000 (NUL), and a UTF-8
database cannot hold a lone UTF-16 surrogate (U+D800..U+DFFF, which a JSON `\\ud800` escape
decodes to). Rejecting a whole record for one such character would lose the record, so each
one becomes U+FFFD, the Unicode replacement character: the value stays visible, and the
change can be seen. target-postgres (every input path) and the partner feeds pipeline apply
this rule; docs/warehouse.md and docs/partner_feeds.md describe it.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
# COPY options that pass JSON lines through untouched, one line one value: a JSON line never
# holds a raw \x01 or \x02, so these quote and delimiter characters never occur in one
JSON_LINE_COPY_OPTIONS = "FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02'"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """`text` with every character PostgreSQL cannot store replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None
