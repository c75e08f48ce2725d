"""One key=value line per request, with a request id, and a JSON 500 for anything unexpected.

A pure ASGI middleware (no per-request task or body buffering, unlike BaseHTTPMiddleware). It
sits outside the app's exception handlers, so an exception they do not expect ends here: it is
answered with the error body instead of reaching the server, which would log a stack trace.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid

from connector_kit.logs import kv
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core import errors

log = logging.getLogger("service.access")
REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(REQUEST_ID_HEADER.encode(), b"").decode("latin-1")
        rid = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.encode(), rid.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if status:  # the response has started: nothing more can be sent
                raise
            response = errors.unexpected(rid, scope["method"], scope["path"], exc)
            await response(scope, receive, send_with_id)
        finally:
            log.info(
                "request %s",
                kv(
                    request_id=rid,
                    method=scope["method"],
                    path=scope["path"],
                    status=status or 500,
                    duration_ms=f"{(time.perf_counter() - started) * 1000:.1f}",
                ),
            )
            request_id.reset(token)
