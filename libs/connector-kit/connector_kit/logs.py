"""One log line per event, key=value, with a run id and secrets masked.

A log line is always one line: control characters in a message or a value (newline, CR, tab,
ESC, the Unicode line separators, ...) are written as escapes (`\\n`, `\\x1b`, `\\u2028`), so a
file name or an API error holding a newline cannot forge a second line. Tracebacks are added
only with LOG_LEVEL=DEBUG.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
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


# C0 and C1 controls, DEL, the characters str.splitlines() and terminals break lines on,
# and lone surrogates (a file name's undecodable bytes): a line stays valid UTF-8
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def single_line(text: str) -> str:
    """`text` with every control character and lone surrogate escaped: what one log line may
    hold."""
    return _CONTROL.sub(_escape_char, text)


def error_line(error: BaseException | str) -> str:
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
        kv(**fields, error=mask(error_line(error))),
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


def sdk_logging_config() -> dict[str, Any]:
    """Logging for a singer-sdk plugin: our line format, as the utilities have (dictConfig).

    meltano hands the SDK a config that prints the bare message; with this one each plugin
    line carries its time, level and run id once (meltano's logging.yaml prints plugin lines
    as written).
    """
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"connector": {"()": f"{__name__}.MaskingFormatter"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "connector",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
    }


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


def endpoint(value: str) -> str:
    """Where a connection URL points, without credentials or query: scheme://hosts/path.

    Anything that is not a URL (a folder, a file) is returned as it is.
    """
    scheme, sep, rest = value.partition("://")
    if not sep:
        return value
    address = rest.split("?", 1)[0].split("#", 1)[0]
    return f"{scheme}://{address.rpartition('@')[2]}"  # user:password@ dropped


def connections(found: dict[str, str], **who: str) -> None:
    """One line on stderr, before any work: meltano's environment and where connections point.

    `found` holds what `endpoint` shows; printed directly, as it comes before logging is set up.
    """
    line = kv(**who, environment=os.environ.get("MELTANO_ENVIRONMENT") or "-", **found)
    print(mask(f"connections {line}"), file=sys.stderr, flush=True)


# The run summary: each plugin and pipeline ends with one `summary {json}` line, which the
# run report (ops.report) reads; nothing else in the logs is parsed. Each stage states only
# the counts it owns, so a job's figures are the sums over its stages:
#   read         records taken from the source system (taps, dlt pipelines)
#   inserted, updated, unchanged, deleted, rejected
#                what the destination did with what it was sent (targets, dlt pipelines);
#                rejected = refused by the destination, written to the dead-letter store
#   quarantined  bad input set aside before it reached the destination (taps, mappers)
# Other keys (stream, files, retried, ...) are context the report keeps but does not add up.
SUMMARY_COUNTS = ("read", "inserted", "updated", "unchanged", "deleted", "rejected", "quarantined")
_SUMMARY_LINE = re.compile(r"(?:^|\s)summary (\{.*)")


def summary(logger: logging.Logger | logging.LoggerAdapter[Any], **fields: object) -> None:
    """Log the one machine-readable summary line of a plugin or pipeline run."""
    body = {"stage": logger.name, **fields}
    logger.info("summary %s", json.dumps(body, separators=(",", ":"), default=str))


def parse_summary(line: str) -> dict[str, Any] | None:
    """The fields of a summary line (as logged by `summary`, possibly wrapped by meltano)."""
    match = _SUMMARY_LINE.search(line)
    if not match:
        return None
    try:
        fields, _ = json.JSONDecoder().raw_decode(match.group(1))
    except ValueError:
        return None
    return fields if isinstance(fields, dict) and "stage" in fields else None


class Progress:
    """A `progress records=N rate=R/s` line every `every` seconds while a long run lasts.

    A daemon thread writes the line, so it comes on time even while one slow batch is in
    flight; a run shorter than `every` logs nothing. `add(n)` as records are done (the first
    starts the thread: a sink whose run failed before any record starts none); `stop()` (or
    leaving the `with` block) ends it.
    """

    def __init__(
        self,
        logger: logging.Logger | logging.LoggerAdapter[Any],
        every: float = 10.0,
        **context: object,
    ) -> None:
        self.logger, self.every, self.context = logger, every, context
        self.records = 0
        self.started = time.monotonic()
        self._stopped = threading.Event()
        self._starting = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, records: int) -> None:
        self.records += records
        if self._thread is None:
            with self._starting:
                if self._thread is None and not self._stopped.is_set():
                    self._thread = threading.Thread(target=self._run, name="progress", daemon=True)
                    self._thread.start()

    def counter(self, size: Callable[[T], int]) -> Callable[[T], T]:
        """A pass-through map step (e.g. dlt's `add_map`) that counts `size(item)` records."""

        def count(item: T) -> T:
            self.add(size(item))
            return item

        return count

    def _run(self) -> None:
        while not self._stopped.wait(self.every):
            elapsed = time.monotonic() - self.started
            self.logger.info(
                "progress %s",
                kv(
                    **self.context,
                    records=self.records,
                    seconds=f"{elapsed:.0f}",
                    rate_per_s=f"{self.records / elapsed:.0f}",
                ),
            )

    def stop(self) -> None:
        """No more lines: the timer thread has ended when this returns."""
        self._stopped.set()
        with self._starting:
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
