"""Constants of the offers pipeline."""

from __future__ import annotations

PIPELINE_NAME = "offers"
RUN_LOG_DATASET = (
    "offers_sync"  # dlt dataset in the aggregator database: one row per product per run
)
RUN_LOG_TABLE = "offer_syncs"
DEFAULT_TOKEN_LIFETIME_S = 300.0  # the service's access tokens live 5 minutes
DEFAULT_REFRESH_MARGIN_S = 10.0  # stop using a token this close to its expiry

# The seed's environment variable names, mapped onto dlt's own (dlt's names win when both are set).
ENV_ALIASES = {
    "OFFERS_SERVICE_URL": "SOURCES__OFFERS__SERVICE_URL",
    "OFFERS_REFRESH_TOKEN": "SOURCES__OFFERS__REFRESH_TOKEN",
    "AGGREGATOR_DATABASE_URL": "SOURCES__OFFERS__DATABASE_URL",
}
