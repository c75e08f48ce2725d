"""MES rows -> Glassdome products: status table, normalisation and latest-update-wins."""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from connector_kit.contracts import GLASSDOME_STATUSES
from connector_kit.values import utc_instant

TABLES = Path(__file__).with_name("translation.yaml")

PRODUCT_SCHEMA: dict[str, t.Any] = {
    "type": "object",
    "properties": {
        "id": {"type": ["string"]},
        "sku": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"]},
        "source_status": {"type": ["string", "null"]},
    },
}


@dataclass(frozen=True)
class Tables:
    """The translation data: status spellings and the streams that carry products."""

    statuses: dict[str, str]
    sources: dict[str, str]  # raw MES stream -> its material column
    translated: frozenset[str] = frozenset()  # streams already in product shape

    @classmethod
    def load(cls, path: Path = TABLES) -> Tables:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        statuses = {str(k).strip().lower(): str(v) for k, v in data["statuses"].items()}
        unknown = set(statuses.values()) - set(GLASSDOME_STATUSES)
        if unknown:
            raise ValueError(f"translation maps to non-Glassdome statuses: {sorted(unknown)}")
        return cls(
            statuses=statuses,
            sources={str(k): str(v) for k, v in data["sources"].items()},
            translated=frozenset(str(s) for s in data.get("translated") or ()),
        )

    def carries_products(self, stream: str) -> bool:
        return stream in self.sources or stream in self.translated


def glassdome_status(mes_status: str | None, statuses: dict[str, str]) -> str | None:
    """The Glassdome status for an MES spelling, or None when the spelling is unknown."""
    if mes_status is None:
        return None
    return statuses.get(mes_status.strip().lower())


def normalise_sku(sku: str | None) -> str | None:
    """Glassdome skus are trimmed upper case: ' sku-delta ' -> 'SKU-DELTA'."""
    if sku is None:
        return None
    return sku.strip().upper() or None


@dataclass
class LatestWins:
    """Keeps the newest `updated_at` seen per material, so an older row never overrides.

    Memory is one timestamp per material (not per row), whatever the order of the streams.
    """

    newest: dict[str, dt.datetime] = field(default_factory=dict)

    def admit(self, material: str, updated_at: t.Any) -> bool:
        """True if this row is at least as new as every row seen for the material."""
        if updated_at is None:
            return material not in self.newest
        instant = utc_instant(updated_at)
        seen = self.newest.get(material)
        if seen is not None and instant < seen:
            return False
        self.newest[material] = instant
        return True


def to_product(row: dict[str, t.Any], material_column: str, tables: Tables) -> dict[str, t.Any]:
    """One raw MES row (order or sales row) as a Glassdome product."""
    source_status = row.get("status")
    return {
        "id": str(row[material_column]).strip(),
        "sku": normalise_sku(row.get("sku")),
        "status": glassdome_status(source_status, tables.statuses),
        "source_status": source_status,
    }


def product_fields(row: dict[str, t.Any]) -> dict[str, t.Any]:
    """A row already translated upstream (see `Tables.translated`), as a product."""
    return {name: row.get(name) for name in PRODUCT_SCHEMA["properties"]}
