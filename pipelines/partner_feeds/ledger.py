"""The feed ledger: which (partner, sha256) feeds were imported, and how each run ended.

The `feed_imports` table at the destination is the only source of truth. Its rows travel in
the same dlt load package as the catalog rows and rejects of their feed, and a pending
package is always completed before a new run reads the ledger (see pipeline.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import dlt
from connector_kit.pgtext import storable
from dlt.destinations.exceptions import DatabaseUndefinedRelation

from pipelines.partner_feeds.settings import LEDGER_TABLE

log = logging.getLogger(__name__)


class FeedStatus(StrEnum):
    LOADED = "loaded"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    PENDING = "pending"  # extracted, but its load package did not reach the destination


@dataclass
class FeedOutcome:
    partner: str
    feed_file: str
    checksum: str
    path: Path | None = None
    status: FeedStatus = FeedStatus.PENDING
    rows_loaded: int = 0
    rows_rejected: int = 0
    error: str | None = None

    def ledger_row(self, imported_at: dt.datetime) -> dict[str, Any]:
        return {
            "partner": self.partner,
            "checksum": self.checksum,
            "feed_file": storable(self.feed_file),
            "status": str(self.status),
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "error": None if self.error is None else storable(self.error),
            "imported_at": imported_at,
        }


def imported_checksums(pipeline: dlt.Pipeline, checksums: Iterable[str]) -> set[tuple[str, str]]:
    """(partner, checksum) pairs among `checksums` that the destination ledger has as loaded."""
    wanted = sorted(set(checksums))
    if not wanted:
        return set()
    found: set[tuple[str, str]] = set()
    try:
        with pipeline.sql_client() as client:
            table = client.make_qualified_table_name(LEDGER_TABLE)
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                rows = client.execute_sql(
                    f"SELECT partner, checksum FROM {table}"
                    f" WHERE status = %s AND checksum IN ({marks})",
                    str(FeedStatus.LOADED),
                    *chunk,
                )
                found.update((str(p), str(c)) for p, c in rows or [])
    except DatabaseUndefinedRelation:
        log.info("feed ledger not created yet %s", f"table={LEDGER_TABLE}")
    return found
