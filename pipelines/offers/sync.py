"""One offers sync: register new products, then fetch and reconcile each product's offers.

A product that fails (404, 5xx after retries, a malformed payload, a database error) is logged
and recorded as failed; the others go on. A refresh token the service rejects stops the run.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import requests
from connector_kit.logs import kv, register_secret
from dlt.sources.helpers.requests import Client

from pipelines.offers import catalog
from pipelines.offers.auth import RefreshTokenAuth
from pipelines.offers.client import Offer, OffersClient, ProductFailed
from pipelines.offers.settings import DEFAULT_REFRESH_MARGIN_S, DEFAULT_TOKEN_LIFETIME_S
from service.migrations import upgrade

log = logging.getLogger("pipelines.offers")


@dataclass(frozen=True)
class SyncSettings:
    service_url: str
    refresh_token: str = field(repr=False)
    database_url: str = field(repr=False)
    token_lifetime_s: float = DEFAULT_TOKEN_LIFETIME_S
    refresh_margin_s: float = DEFAULT_REFRESH_MARGIN_S
    token_cache: Path | None = None
    workers: int = 4  # concurrent offers requests


@dataclass
class ProductOutcome:
    """One row of the run log (`offer_syncs`)."""

    product_id: str
    step: str  # register | offers
    status: str  # ok | failed
    offers: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    error: str | None = None
    finished_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def retrying_client() -> Client:
    """dlt's retrying HTTP client (5xx, 429, timeouts; [runtime] request_* settings), no raise."""
    client = Client(raise_for_status=False)
    client.configure()
    return client


def http_session() -> requests.Session:
    return retrying_client().session


def offers_client(settings: SyncSettings, http: Client | None = None) -> OffersClient:
    """The offers service's client with its refresh-token auth (the service registers with it)."""
    register_secret(settings.refresh_token)
    http = http or retrying_client()
    auth = RefreshTokenAuth(
        settings.service_url.rstrip("/") + "/api/v1/auth",
        settings.refresh_token,
        http.session,
        lifetime_s=settings.token_lifetime_s,
        margin_s=settings.refresh_margin_s,
        cache_file=settings.token_cache,
    )
    return OffersClient(settings.service_url, http, auth)


def sync(settings: SyncSettings, http: Client | None = None) -> Iterator[ProductOutcome]:
    """Yield one outcome per product touched; the database schema is upgraded first (Alembic).

    Offers are fetched by `settings.workers` threads (one keep-alive session each) and reconciled
    in this thread, in product order, as they arrive.
    """
    upgrade(settings.database_url)
    client = offers_client(settings, http)
    with closing(psycopg2.connect(settings.database_url)) as conn:
        for product in catalog.unregistered(conn):
            outcome = _register(client, conn, product)
            if outcome.status == "failed":
                yield outcome
        with ThreadPoolExecutor(max_workers=max(1, settings.workers)) as pool:
            products = catalog.registered(conn)
            for product, fetched in zip(
                products, pool.map(client.try_offers, products), strict=True
            ):
                yield _reconcile(conn, product, fetched)


def _register(
    client: OffersClient, conn: psycopg2.extensions.connection, product: catalog.Product
) -> ProductOutcome:
    try:
        if not client.register(product.id, product.name, product.description):
            raise ProductFailed("registration refused and the service does not know the product")
        catalog.mark_registered(conn, product.id)
    except (ProductFailed, requests.RequestException, psycopg2.Error) as exc:
        log.error("product failed %s", kv(product_id=product.id, step="register", error=exc))
        return ProductOutcome(product.id, "register", "failed", error=str(exc))
    log.info("product registered %s", kv(product_id=product.id))
    return ProductOutcome(product.id, "register", "ok")


def _reconcile(
    conn: psycopg2.extensions.connection, product: catalog.Product, fetched: list[Offer] | Exception
) -> ProductOutcome:
    try:
        if isinstance(fetched, Exception):
            raise fetched
        result = catalog.reconcile(conn, product.id, fetched)
    except (ProductFailed, requests.RequestException, psycopg2.Error) as exc:
        log.error("product failed %s", kv(product_id=product.id, step="offers", error=exc))
        return ProductOutcome(product.id, "offers", "failed", error=str(exc))
    log.info(
        "product synced %s",
        kv(
            product_id=product.id,
            offers=len(fetched),
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            deleted=result.deleted,
        ),
    )
    return ProductOutcome(
        product.id,
        "offers",
        "ok",
        len(fetched),
        result.inserted,
        result.updated,
        result.unchanged,
        result.deleted,
    )
