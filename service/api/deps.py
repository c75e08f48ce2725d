"""Dependencies the routes inject: settings, the pool, a connection, the key check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from pydantic import SecretStr

from service.core.config import Settings
from service.core.db import Connection, Pool, connection
from service.core.errors import Forbidden, NotConfigured, Unauthorized
from service.core.security import (
    ADMIN_KEY_HEADER,
    API_KEY_HEADER,
    check_admin_key,
    check_api_key,
    partner_key_hash,
)
from service.partners.queries import partner_by_key
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


admin_key = APIKeyHeader(
    name=ADMIN_KEY_HEADER,
    scheme_name="AdminKey",
    description="The admin key (ADMIN_API_KEY) of the partner admin endpoints.",
    auto_error=False,
)
partner_key = APIKeyHeader(
    name=API_KEY_HEADER,
    scheme_name="PartnerKey",
    description="A partner's own API key, issued by POST /partner/partners.",
    auto_error=False,
)


def _configured(value: SecretStr | None, variable: str) -> SecretStr:
    if value is None:
        raise NotConfigured(f"{variable} is not set: the partner endpoints are off")
    return value


async def require_admin_key(
    request: Request, key: Annotated[str | None, Security(admin_key)]
) -> None:
    if not key and request.headers.get(API_KEY_HEADER):
        raise Forbidden(f"admin endpoints take the {ADMIN_KEY_HEADER} header, not a partner key")
    check_admin_key(key, _configured(request.app.state.settings.admin_api_key, "ADMIN_API_KEY"))


def app_secret(request: Request) -> SecretStr:
    return _configured(request.app.state.settings.app_secret_key, "APP_SECRET_KEY")


async def current_partner(
    secret: Annotated[SecretStr, Depends(app_secret)],
    pool: PoolDep,
    key: Annotated[str | None, Security(partner_key)],
) -> str:
    """The partner whose key this is; 401 for none, an unknown or a revoked key.

    Its connection goes back to the pool at once, not at the end of the request: an upload
    takes its own afterwards, and one request never holds two (20 uploads at once on a pool
    of 10 would otherwise each wait for a second connection, and all answer 503).
    """
    if not key:
        raise Unauthorized(f"this endpoint needs the partner's {API_KEY_HEADER} header")
    async with pool.connection() as conn:
        partner = await partner_by_key(conn, partner_key_hash(key, secret))
    if partner is None:
        raise Unauthorized(f"the {API_KEY_HEADER} header does not hold a valid partner key")
    return partner


AdminKey = Depends(require_admin_key)
AppSecret = Annotated[SecretStr, Depends(app_secret)]
PartnerDep = Annotated[str, Depends(current_partner)]
