"""One log line per event, key=value, with a run id and secrets masked.

A log line is always one line: control characters in a message or a value (newline, CR, tab,
ESC, the Unicode line separators, ...) are written as escapes (`\\n`, `\\x1b`, `\\u2028`), so a
file name or an API error holding a newline cannot forge a second line. Tracebacks are added
only with LOG_LEVEL=DEBUG.
"""

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


# C0 and C1 controls, DEL, and the characters str.splitlines() and terminals break lines on
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def single_line(text: str) -> str:
    """`text` with every control character escaped: what one log line may hold."""
    return _CONTROL.sub(_escape_char, text)


def summary(error: BaseException | str) -> str:
    """An error as one short line: a traceback quoted inside a message (dlt puts the job's
    traceback in its exceptions) is cut to its last line, the exception that ended it."""
    text = str(error) if isinstance(error, BaseException) else error
    head, marker, trace = text.partition("Traceback (most recent call last)")
    if marker:  # keep what follows the last indented (frame) line: the final exception
        lines = trace.splitlines()
        frames = [i for i, line in enumerate(lines) if line[:1] in (" ", "\t")]
        tail = lines[frames[-1] + 1 :] if frames else lines[1:]
        text = " ".join(part for part in (head.strip().rstrip(":"), *tail) if part.strip())
    text = " ".join(text.split())  # newlines and runs of blanks -> one space
    if isinstance(error, BaseException) and not text:
        text = type(error).__name__
    return text


def debug_enabled() -> bool:
    """LOG_LEVEL=DEBUG: expected failures then carry their traceback."""
    return os.environ.get("LOG_LEVEL", "").strip().upper() == "DEBUG"


def failure(logger: logging.Logger, event: str, error: BaseException, **fields: object) -> None:
    """An expected failure as one line: the event (what failed), `fields` (where: a URL, a
    folder, a job) and the error's own words (what to check), secrets masked. The traceback
    follows only with LOG_LEVEL=DEBUG."""
    logger.error(
        "%s %s",
        event,
        kv(**fields, error=mask(summary(error))),
        exc_info=error if debug_enabled() else None,
    )


class MaskingFormatter(logging.Formatter):
    """Formats `time level logger run_id=... message`; one line; tracebacks only at DEBUG."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s run_id=" + RUN_ID + " %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = single_line(record.message)
        return super().formatMessage(record)

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
    """Render fields as `k=v` pairs on one line: values with blanks or quotes are quoted,
    backslashes and control characters escaped (a value can never end the line)."""
    parts = []
    for key, value in fields.items():
        raw = str(value)
        text = single_line(raw.replace("\\", "\\\\"))
        if not text or text != raw or any(c.isspace() for c in text) or '"' in text:
            text = '"' + text.replace('"', '\\"') + '"'
        parts.append(f"{key}={text}")
    return " ".join(parts)
