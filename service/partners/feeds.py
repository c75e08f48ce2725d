"""Processing an uploaded feed with the partner_feeds pipeline (its upload entry point).

The catalog goes to the service's Postgres (dataset `partner_catalog`); the pipeline's own
ledger, validation and rejects apply unchanged.
"""

from __future__ import annotations

import os

from pipelines.dlt_project import data_dir
from pipelines.partner_feeds.ledger import FeedOutcome
from pipelines.partner_feeds.pipeline import ingest_feed
from pipelines.partner_feeds.registry import PartnerAdapter, PartnerRegistry
from pipelines.partner_feeds.settings import PartnerFeedsSettings
from service.core.config import Settings

FORMATS = {"text/csv": "csv", "application/json": "json"}


def feeds_settings() -> PartnerFeedsSettings:
    """The partner_feeds pipeline's settings for the service (its registry, landing folder and
    rules; the service's Postgres and pipelines folder)."""
    return PartnerFeedsSettings.resolve(
        destination="postgres",
        pipelines_dir=str(data_dir() / "service" / "pipelines"),
        fail_on_rejects=False,
    )


def adapter(partner: str) -> PartnerAdapter:
    """How this partner's feeds are read (the pipeline's registry; defaults if not listed)."""
    return PartnerRegistry.load(feeds_settings().registry_path).adapter(partner)


def process_feed(settings: Settings, partner: str, name: str, content: bytes) -> FeedOutcome:
    """Run the pipeline on one feed named `name` (its suffix gives the format; blocking: called
    in a worker thread)."""
    # the pipeline's Postgres destination reads DATABASE_URL from the environment
    os.environ.setdefault("DATABASE_URL", settings.database_url)
    return ingest_feed(partner, name, content, feeds_settings())
