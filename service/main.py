"""The app factory: one FastAPI app, one router per domain, shared settings, engine and errors."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import psycopg
import sqlalchemy.exc
from connector_kit import logs
from connector_kit.logs import kv
from connector_kit.retry import policy
from fastapi import FastAPI

from service import jobs
from service.admin.router import router as admin_router
from service.api.routes import customers, health, metrics, partners, products
from service.core import errors
from service.core.access_log import RequestLog
from service.core.config import Settings, load_settings
from service.core.db import create_pool
from service.migrations import upgrade
from service.products.registration import Registrar

log = logging.getLogger("service")

DESCRIPTION = """
The customer API (customer-data-pipeline.md) and the product aggregator API
(product-aggregator.md) over what the pipelines load.

Reads are open. Writes (`POST`, `PUT`, `DELETE`) and `POST /api/ingest` need the service key
in the `X-API-Key` header (see each operation's lock). Every error is JSON
`{"error": "<Name>", "details": "<message>"}`.
"""


def upgrade_schema(settings: Settings) -> None:
    """Alembic upgrade to head; waits (with backoff) for a database that is still starting."""
    policy(
        attempts=8,
        initial_wait=0.5,
        max_wait=5,
        retry_on=(sqlalchemy.exc.OperationalError, psycopg.OperationalError),
        logger=log,
    )(upgrade, settings.libpq_url)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    await anyio.to_thread.run_sync(upgrade_schema, settings)
    app.state.pool = create_pool(settings)
    await app.state.pool.open()
    app.state.registrar = Registrar(settings)
    await jobs.queue.open_async(app.state.pool)  # jobs are deferred on the same pool
    log.info("service ready %s", kv(database=settings.database.render_as_string()))
    try:
        yield
    finally:
        await jobs.queue.close_async()
        await app.state.pool.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings default to the environment (SettingsError names what is missing)."""
    settings = settings or load_settings()
    logs.configure(settings.log_level)
    for secret in (
        settings.service_api_key,
        settings.offers_refresh_token,
        settings.admin_api_key,
        settings.app_secret_key,
    ):
        if secret is not None:
            logs.register_secret(secret.get_secret_value())
    logs.register_secret(settings.database.password)

    app = FastAPI(
        title="ELT connectors service",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    errors.install(app)
    app.add_middleware(RequestLog)
    for router in (
        health.router,
        customers.router,
        products.router,
        partners.router,
        metrics.router,
        admin_router,
    ):
        app.include_router(router)
    return app
