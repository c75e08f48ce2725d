"""The console's session: one signed cookie (APP_SECRET_KEY) holding a CSRF token.

A visitor gets an anonymous session on the login page (its token guards the login form);
the admin key swaps it for a new signed-in one. Every POST must carry the session's token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "admin_session"
MAX_AGE_S = 8 * 3600


@dataclass(frozen=True)
class Session:
    csrf: str
    admin: bool

    @classmethod
    def new(cls, *, admin: bool) -> Session:
        return cls(secrets.token_urlsafe(24), admin)

    def accepts(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf.encode(), str(token).encode())


def _signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="admin-session")


def read(request: Request, secret: str) -> Session | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _signer(secret).loads(raw, max_age=MAX_AGE_S)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("csrf"), str):
        return None
    return Session(data["csrf"], data.get("admin") is True)


def write(response: Response, session: Session, secret: str, *, secure: bool) -> None:
    token = _signer(secret).dumps({"csrf": session.csrf, "admin": session.admin})
    response.set_cookie(
        COOKIE,
        token,
        max_age=MAX_AGE_S,
        path="/admin",
        httponly=True,
        samesite="lax",
        secure=secure,
    )


def clear(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/admin")
