"""Dead-letter store: rejected records as JSONL with their reason; nothing is lost."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any


class DeadLetters:
    """Append-only JSONL file; each line holds the record, why it was rejected and when."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.count = 0

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
