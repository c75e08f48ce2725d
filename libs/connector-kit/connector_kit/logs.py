"""One log line per event, key=value, with a run id and secrets masked."""

from __future__ import annotations

import logging
import os
import re
import sys
import uuid

RUN_ID = os.environ.get("CONNECTOR_RUN_ID") or uuid.uuid4().hex[:12]

_SECRET_PATTERNS = [
    re.compile(
        r"(?i)(x-api-key|api_key|apikey|password|passwd|secret|token|bearer)(['\"]?\s*[:=]\s*['\"]?)([^\s'\",}&]+)"
    ),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@\s]+)(@)"),
]
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it would appear in a log line."""
    if value and len(value) >= 4:
        _known_secrets.add(value)


def mask(text: str) -> str:
    for value in _known_secrets:
        text = text.replace(value, "***")
    text = _SECRET_PATTERNS[0].sub(r"\1\2***", text)
    return _SECRET_PATTERNS[1].sub(r"\1***\3", text)


class MaskingFormatter(logging.Formatter):
    """Formats `time level logger run_id=... message`; tracebacks only at DEBUG."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s run_id=" + RUN_ID + " %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.exc_info and logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            record.exc_info = None
            record.exc_text = None
        return mask(super().format(record))


def configure(level: str | None = None) -> None:
    """Install the masking formatter on the root logger (idempotent)."""
    root = logging.getLogger()
    root.setLevel((level or os.environ.get("LOG_LEVEL", "INFO")).upper())
    for handler in root.handlers:
        if isinstance(handler.formatter, MaskingFormatter):
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(MaskingFormatter())
    root.addHandler(handler)


def kv(**fields: object) -> str:
    """Render fields as `k=v` pairs, quoting values with spaces."""
    parts = []
    for key, value in fields.items():
        text = str(value)
        if not text or any(c.isspace() for c in text) or '"' in text:
            text = '"' + text.replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)


_KV_PAIR = re.compile(r'(\w[\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_kv(text: str) -> dict[str, str]:
    """The `k=v` pairs of a line written with `kv` (quoted values unquoted); other words skipped."""
    fields = {}
    for key, value in _KV_PAIR.findall(text):
        quoted = value.startswith('"') and len(value) >= 2
        fields[key] = value[1:-1].replace('\\"', '"') if quoted else value
    return fields
