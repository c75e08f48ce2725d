"""Dependencies the routes inject: settings, the pool, a connection, the key check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from service.core.config import Settings
from service.core.db import Connection, Pool, connection
from service.core.security import API_KEY_HEADER, check_api_key
from service.products.registration import Registrar


def settings(request: Request) -> Settings:
    return request.app.state.settings


def pool(request: Request) -> Pool:
    return request.app.state.pool


def registrar(request: Request) -> Registrar:
    return request.app.state.registrar


async def db(request: Request) -> AsyncIterator[Connection]:
    """A pooled connection for the request (autocommit; writes open a transaction on it)."""
    async for conn in connection(request.app.state.pool):
        yield conn


service_key = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="ServiceKey",
    description="The service key (SERVICE_API_KEY); writes and /api/ingest need it.",
    auto_error=False,
)


async def require_service_key(
    request: Request, key: Annotated[str | None, Security(service_key)]
) -> None:
    check_api_key(key, request.app.state.settings.service_api_key)


SettingsDep = Annotated[Settings, Depends(settings)]
PoolDep = Annotated[Pool, Depends(pool)]
DB = Annotated[Connection, Depends(db)]
RegistrarDep = Annotated[Registrar, Depends(registrar)]
ServiceKey = Depends(require_service_key)
