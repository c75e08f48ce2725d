"""Every error the service answers is JSON `{"error": "<Name>", "details": "<message>"}`.

Expected failures (bad input, missing rows, a wrong key, the database or an upstream away) log
one line without a stack trace; only an unexpected exception is logged with its trace, and the
client never sees one.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import psycopg
from connector_kit.logs import kv
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import Match

log = logging.getLogger("service.errors")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str
    details: str


class ServiceError(Exception):
    """An expected failure with its HTTP status; `name` is the `error` field."""

    status = 500
    name = "InternalError"

    def __init__(self, details: str) -> None:
        super().__init__(details)
        self.details = details


class NotFound(ServiceError):
    status, name = 404, "NotFound"


class Unauthorized(ServiceError):
    status, name = 401, "Unauthorized"


class Conflict(ServiceError):
    status, name = 409, "Conflict"


class UpstreamFailed(ServiceError):
    """A system we read from (the customer API, the offers service) failed."""

    status, name = 502, "UpstreamError"


class DatabaseUnavailable(ServiceError):
    status, name = 503, "DatabaseUnavailable"


class NotConfigured(ServiceError):
    """A feature whose settings are not set (e.g. ADMIN_API_KEY)."""

    status, name = 503, "NotConfigured"


class PayloadTooLarge(ServiceError):
    status, name = 413, "PayloadTooLarge"


class UnsupportedMediaType(ServiceError):
    status, name = 415, "UnsupportedMediaType"


class UnprocessableFeed(ServiceError):
    status, name = 422, "UnprocessableFeed"


class NotImplementedYet(ServiceError):
    status, name = 501, "NotImplemented"


# Documented on the routes, so /docs and the OpenAPI document show the error body.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


def database_away(exc: BaseException) -> bool:
    """True for failures that mean "cannot reach the database", as opposed to a bad query."""
    # psycopg_pool's PoolTimeout (no connection within DB_CONNECT_TIMEOUT_S) is one too.
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError | ConnectionError)


def body(
    name: str, details: str, status: int, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": name, "details": details}, status_code=status, headers=headers)


def _status_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.replace(" ", "").replace("-", "")
    except ValueError:
        return "Error"


def _allowed_methods(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return sorted(methods)


def _validation_details(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body") or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the error body."""

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> JSONResponse:
        # A client's mistake is in the access line already (its status); details at DEBUG.
        level = logging.ERROR if exc.status >= 500 else logging.DEBUG
        log.log(level, "request failed %s", _fields(request, exc.status, exc.name, exc.details))
        return body(exc.name, exc.details, exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        log.debug("request failed %s", _fields(request, 422, "ValidationError", details))
        return body("ValidationError", details, 422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the methods of the first route matching the path; FastAPI
            # has one route per method, so gather them all.
            headers["Allow"] = ", ".join(_allowed_methods(request))
        return body(_status_name(exc.status_code), str(exc.detail), exc.status_code, headers)

    @app.exception_handler(psycopg.Error)
    @app.exception_handler(ConnectionError)
    async def database_error(request: Request, exc: Exception) -> JSONResponse:
        if database_away(exc):
            return await service_error(request, DatabaseUnavailable(_unreachable(exc)))
        raise exc  # a bad query is a bug: the request log middleware answers 500


def unexpected(request_id: str, method: str, path: str, exc: BaseException) -> JSONResponse:
    """The 500 answer to an exception nothing expected; its trace is logged at DEBUG only."""
    log.error(
        "request failed %s",
        kv(
            request_id=request_id,
            method=method,
            path=path,
            status=500,
            error="InternalError",
            details=f"{type(exc).__name__}: {first_line(exc)}",
        ),
        exc_info=exc,  # connector_kit.logs drops the trace unless LOG_LEVEL=DEBUG
    )
    return body("InternalError", f"unexpected error (request_id={request_id})", 500)


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (some libraries put a whole trace in theirs)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _unreachable(exc: BaseException) -> str:
    return f"database unreachable: {first_line(getattr(exc, 'orig', None) or exc)}"


def _fields(request: Request, status: int, name: str, details: str) -> str:
    return kv(
        request_id=getattr(request.state, "request_id", "-"),
        method=request.method,
        path=request.url.path,
        status=status,
        error=name,
        details=details,
    )
