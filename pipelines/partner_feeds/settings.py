"""Settings and table shapes of the partner feeds pipeline.

Each setting resolves as: explicit argument > its environment variable > `.dlt/config.toml`
(`[sources.partner_feeds]`, or dlt's SOURCES__PARTNER_FEEDS__<KEY> variables) > default.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa

from pipelines.dlt_project import PROJECT_ROOT, data_dir, pipelines_dir

PIPELINE_NAME = "partner_feeds"
DATASET_NAME = "partner_catalog"
RESOURCE_NAME = "partner_feeds"

CATALOG_TABLE = "catalog_products"
REJECTS_TABLE = "rejects"
LEDGER_TABLE = "feed_imports"

# The seed's environment variable names, mapped onto dlt's own (dlt's names win when both are set).
ENV_ALIASES = {"DATABASE_URL": "DESTINATION__POSTGRES__CREDENTIALS"}

# setting -> (environment variable, default)
SETTINGS: dict[str, tuple[str, Any]] = {
    "landing_dir": ("PARTNER_FEEDS_DIR", "data/partner_feeds"),
    "archive_dir": ("PARTNER_FEEDS_ARCHIVE_DIR", "data/partner_feeds_archive"),
    "registry_path": ("PARTNER_FEEDS_REGISTRY", ""),
    "destination": ("PARTNER_FEEDS_DESTINATION", "duckdb"),
    "duckdb_path": ("PARTNER_FEEDS_DUCKDB_PATH", ""),  # "" = <dlt data dir>/partner_feeds.duckdb
    "dataset_name": ("PARTNER_FEEDS_DATASET", DATASET_NAME),
    "pipelines_dir": ("PARTNER_FEEDS_PIPELINES_DIR", ""),  # "" = <dlt data dir>/pipelines
    "fail_on_rejects": ("PARTNER_FEEDS_FAIL_ON_REJECTS", True),
    "batch_size": ("PARTNER_FEEDS_BATCH_SIZE", 5000),
    # landing files: read only when settled, regular, and within the caps (connector_kit.files)
    "settle_seconds": ("PARTNER_FEEDS_SETTLE_SECONDS", 5),
    "max_file_bytes": ("PARTNER_FEEDS_MAX_FILE_BYTES", 1024**3),
    "max_field_chars": ("PARTNER_FEEDS_MAX_FIELD_CHARS", 131_072),
}


@dataclass(frozen=True)
class PartnerFeedsSettings:
    landing_dir: Path
    archive_dir: Path | None
    registry_path: Path | None
    destination: str
    duckdb_path: Path
    dataset_name: str
    pipelines_dir: Path
    fail_on_rejects: bool
    batch_size: int
    settle_seconds: float = 5.0
    max_file_bytes: int = 1024**3
    max_field_chars: int = 131_072

    @classmethod
    def resolve(cls, **overrides: Any) -> PartnerFeedsSettings:
        values = {name: _lookup(name, overrides.get(name)) for name in SETTINGS}
        destination = str(values["destination"]).strip().lower()
        if destination not in ("duckdb", "postgres"):
            raise ValueError(f"destination must be duckdb or postgres, not {destination!r}")
        return cls(
            landing_dir=_path(values["landing_dir"]),
            archive_dir=_path(values["archive_dir"]) if values["archive_dir"] else None,
            registry_path=_path(values["registry_path"]) if values["registry_path"] else None,
            destination=destination,
            duckdb_path=_path(values["duckdb_path"] or data_dir() / f"{PIPELINE_NAME}.duckdb"),
            dataset_name=str(values["dataset_name"]),
            pipelines_dir=_path(values["pipelines_dir"] or pipelines_dir()),
            fail_on_rejects=_flag(values["fail_on_rejects"]),
            batch_size=int(values["batch_size"]),
            settle_seconds=float(values["settle_seconds"]),
            max_file_bytes=int(values["max_file_bytes"]),
            max_field_chars=int(values["max_field_chars"]),
        )


def _lookup(name: str, explicit: Any) -> Any:
    if explicit is not None:
        return explicit
    env_var, default = SETTINGS[name]
    if os.environ.get(env_var):
        return os.environ[env_var]
    configured: Any = dlt.config.get(f"sources.{PIPELINE_NAME}.{name}")
    return default if configured is None else configured


def _path(value: Any) -> Path:
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


# Column hints: the destination types the catalog contract needs (price DECIMAL(12,2), ...).
LINEAGE_COLUMNS: dict[str, Any] = {
    "partner": {"data_type": "text", "nullable": False},
    "feed_file": {"data_type": "text", "nullable": False},
    "feed_checksum": {"data_type": "text", "nullable": False},
    "row_number": {"data_type": "bigint", "nullable": True},
}
CATALOG_COLUMNS: dict[str, Any] = {
    "partner": {"data_type": "text", "nullable": False},
    "sku": {"data_type": "text", "nullable": False},
    "name": {"data_type": "text", "nullable": False},
    "price": {"data_type": "decimal", "precision": 12, "scale": 2, "nullable": False},
    "stock": {"data_type": "bigint", "nullable": False},
    "currency": {"data_type": "text", "nullable": True},
    "description": {"data_type": "text", "nullable": True},
    "updated_at": {"data_type": "timestamp", "timezone": True, "nullable": True},
    "feed_file": LINEAGE_COLUMNS["feed_file"],
    "feed_checksum": LINEAGE_COLUMNS["feed_checksum"],
    "row_number": {"data_type": "bigint", "nullable": False},
    "imported_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
    # position of the row in this run: when one run carries the same sku twice, the later wins
    "ingest_seq": {"data_type": "bigint", "nullable": False, "dedup_sort": "desc"},
}
REJECTS_COLUMNS: dict[str, Any] = {
    **LINEAGE_COLUMNS,
    "sku": {"data_type": "text", "nullable": True},
    "reason": {"data_type": "text", "nullable": False},
    "raw": {"data_type": "text", "nullable": False},
    "rejected_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
}
LEDGER_COLUMNS: dict[str, Any] = {
    "partner": {"data_type": "text", "nullable": False},
    "checksum": {"data_type": "text", "nullable": False},
    "feed_file": {"data_type": "text", "nullable": False},
    "status": {"data_type": "text", "nullable": False},  # loaded | duplicate | failed
    "rows_loaded": {"data_type": "bigint", "nullable": False},
    "rows_rejected": {"data_type": "bigint", "nullable": False},
    "error": {"data_type": "text", "nullable": True},
    "imported_at": {"data_type": "timestamp", "timezone": True, "nullable": False},
}

# Products travel as Arrow tables: dlt then writes them without per-row normalisation.
_UTC = pa.timestamp("us", tz="UTC")
CATALOG_ARROW_SCHEMA = pa.schema(
    [
        pa.field("partner", pa.string(), nullable=False),
        pa.field("sku", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("price", pa.decimal128(12, 2), nullable=False),
        pa.field("stock", pa.int64(), nullable=False),
        pa.field("currency", pa.string()),
        pa.field("description", pa.string()),
        pa.field("updated_at", _UTC),
        pa.field("feed_file", pa.string(), nullable=False),
        pa.field("feed_checksum", pa.string(), nullable=False),
        pa.field("row_number", pa.int64(), nullable=False),
        pa.field("imported_at", _UTC, nullable=False),
        pa.field("ingest_seq", pa.int64(), nullable=False),
    ]
)
