"""dlt pipeline: partner catalog feeds (CSV/JSON) -> `catalog_products`, `rejects`, `feed_imports`.

`python -m pipelines.partner_feeds` loads the landing folder; `ingest_feed(partner, name, bytes)`
loads one uploaded feed. See docs/partner_feeds.md.
"""

from __future__ import annotations

from pipelines.partner_feeds.feeds import Feed, FeedRejected
from pipelines.partner_feeds.ledger import FeedOutcome, FeedStatus
from pipelines.partner_feeds.pipeline import RunReport, ingest_feed, make_pipeline, run, run_feeds
from pipelines.partner_feeds.settings import PartnerFeedsSettings

__all__ = [
    "Feed",
    "FeedOutcome",
    "FeedRejected",
    "FeedStatus",
    "PartnerFeedsSettings",
    "RunReport",
    "ingest_feed",
    "make_pipeline",
    "run",
    "run_feeds",
]
