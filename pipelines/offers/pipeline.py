"""The offers pipeline as a dlt pipeline.

The offers themselves are reconciled straight into the aggregator's `offers` table, one
transaction per product (sync.py): dlt's merge cannot delete the stale offers of a product
that returned none, and it loads all products in one job. dlt carries the rest: config and
secrets, the retrying HTTP session, the run log `offer_syncs` (one row per product per run, in
the aggregator database, dataset `offers_sync`) and the pipeline state with the last run's
summary, so `dlt pipeline offers info` shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dlt
from connector_kit.logs import Progress, summary
from dlt.common.configuration import with_config
from dlt.common.schema.typing import TColumnSchema

from pipelines.dlt_project import data_dir, pipelines_dir, postgres_credentials, use_project_dirs
from pipelines.offers.settings import (
    DEFAULT_REFRESH_MARGIN_S,
    DEFAULT_TOKEN_LIFETIME_S,
    PIPELINE_NAME,
    RUN_LOG_DATASET,
    RUN_LOG_TABLE,
)
from pipelines.offers.sync import ProductOutcome, SyncSettings, sync

log = logging.getLogger("pipelines.offers")


@with_config(sections=("sources", PIPELINE_NAME))
def settings_from_config(
    *,
    service_url: str = dlt.config.value,
    refresh_token: str = dlt.secrets.value,
    database_url: str = dlt.secrets.value,
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S,
    refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S,
    workers: int = 4,
) -> SyncSettings:
    return SyncSettings(
        service_url=service_url,
        refresh_token=refresh_token,
        database_url=database_url,
        token_lifetime_s=token_lifetime_s,
        refresh_margin_s=refresh_margin_s,
        workers=workers,
        token_cache=token_cache_file(),
    )


def token_cache_file() -> Path:
    """Where the access token is cached; the service's registrations share it."""
    return data_dir() / PIPELINE_NAME / "access-token.json"


RUN_LOG_COLUMNS: dict[str, TColumnSchema] = {
    "product_id": {"data_type": "text", "nullable": False},
    "step": {"data_type": "text", "nullable": False},
    "status": {"data_type": "text", "nullable": False},
    **{
        name: {"data_type": "bigint"}
        for name in ("offers", "inserted", "updated", "unchanged", "deleted")
    },
    "error": {"data_type": "text", "nullable": True},
    "finished_at": {"data_type": "timestamp"},
}


@dlt.resource(name=RUN_LOG_TABLE, write_disposition="append", columns=RUN_LOG_COLUMNS)
def offer_syncs(outcomes: list[ProductOutcome]) -> Iterator[dict[str, Any]]:
    state = dlt.current.resource_state()
    state["last_run"] = {
        "products": len(outcomes),
        "failed": sorted(o.product_id for o in outcomes if o.status == "failed"),
        "finished_at": max((o.finished_at for o in outcomes), default=None),
    }
    yield from (asdict(o) for o in outcomes)


def run(
    settings: SyncSettings | None = None, pipelines_dir_: Path | None = None
) -> list[ProductOutcome]:
    """Sync every product, then load the run log; returns the outcomes."""
    use_project_dirs()
    settings = settings or settings_from_config()
    outcomes = []
    with Progress(log, pipeline=PIPELINE_NAME) as progress:
        for outcome in sync(settings):
            outcomes.append(outcome)
            progress.add(outcome.offers)
    pipeline = dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.postgres(
            credentials=postgres_credentials(settings.database_url)
        ),
        dataset_name=RUN_LOG_DATASET,
        pipelines_dir=str(pipelines_dir_ or pipelines_dir()),
    )
    pipeline.run(offer_syncs(outcomes))
    failed = [o for o in outcomes if o.status == "failed"]
    summary(
        log,
        pipeline=PIPELINE_NAME,
        products=len(outcomes),
        failed_products=len(failed),
        read=sum(o.offers for o in outcomes),
        inserted=sum(o.inserted for o in outcomes),
        updated=sum(o.updated for o in outcomes),
        unchanged=sum(o.unchanged for o in outcomes),
        deleted=sum(o.deleted for o in outcomes),
    )
    return outcomes
