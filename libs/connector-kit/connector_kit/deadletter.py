"""Dead-letter store: rejected records as JSONL with their reason; nothing is lost."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from connector_kit.logs import kv

DEFAULT_FOLDER = "output/dead-letter"
T = TypeVar("T")


class DeadLetters:
    """Append-only JSONL file; each line holds the record, why it was rejected and when."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0

    @classmethod
    def for_plugin(
        cls, file_name: str, *, folder: str | None = None, path: str | None = None
    ) -> DeadLetters:
        """A plugin's dead-letter file: `path` when given, else `file_name` in `folder`, else
        in $DEAD_LETTER_DIR, else in ./output/dead-letter."""
        if path:
            return cls(path)
        return cls(Path(folder or os.environ.get("DEAD_LETTER_DIR") or DEFAULT_FOLDER) / file_name)

    def add(self, record: Any, reason: str, **context: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        entry = {
            "record": record,
            "reason": reason,
            **context,
            "rejected_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        line = json.dumps(entry, default=str, ensure_ascii=False)
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: keep it as a JSON escape, readable back
            line = json.dumps(entry, default=str)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self.count += 1

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


def rejects_exit_code(
    rejected: int,
    fail_on_rejects: bool = True,
    log: logging.Logger | None = None,
    **where: Any,
) -> int:
    """The project's rule at the end of a run: records rejected (set aside with their reason,
    the rest delivered) fail the run with exit code 1, unless `fail_on_rejects` is off.

    With `log`, a failing run says so in one line: how many, and `where` they are.
    """
    if not rejected or not fail_on_rejects:
        return 0
    if log is not None:
        log.error("run rejected records %s", kv(rejected=rejected, **where))
    return 1


def send_in_halves(
    records: Sequence[T],
    send: Callable[[Sequence[T]], object],
    refused: type[BaseException] | tuple[type[BaseException], ...],
    reject: Callable[[T, Any], None],
) -> None:
    """Send a batch; one bad record makes the receiver refuse the whole batch, so a refused
    batch is split in halves until each bad record stands alone: `reject(record, error)`
    sets it aside, the rest is sent. Only `refused` errors (the receiver judged the data)
    split a batch; any other error goes to the caller.
    """
    try:
        send(records)
    except refused as error:
        if len(records) == 1:
            reject(records[0], error)
            return
        middle = len(records) // 2
        send_in_halves(records[:middle], send, refused, reject)
        send_in_halves(records[middle:], send, refused, reject)
