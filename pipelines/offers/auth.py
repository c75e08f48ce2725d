"""Refresh-token auth of the offers service: one access token at a time, sent as `Bearer:`.

The service refuses a new access token while the previous one is valid (400), so the token is
used until shortly before it expires, then the remainder is waited out before asking for the
next one. A 401 (expired in flight, revoked) gets one new token and one retry. The token is
cached in a 0600 file so a rerun within its lifetime reuses it instead of being refused.
The cache is keyed by the auth URL and a hash of the refresh token: a run pointed at another
offers service, or holding another refresh token, never gets a token issued for the first.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

import requests
from connector_kit.logs import kv, register_secret
from connector_kit.retry import TransientError, policy
from requests.auth import AuthBase

log = logging.getLogger("pipelines.offers.auth")
HEADER = "Bearer"  # literally a header named "Bearer" (docs/offers.md)


class RefreshTokenRejected(Exception):
    """The service does not accept the refresh token (401): a configuration error, not retried."""


class TokenStillValid(TransientError):
    """The service refused a new token because another one is still valid (400)."""


def token_expiry(token: str) -> float | None:
    """Expiry (epoch seconds) from the JWT's `exp` (or `expires`) claim; None if unreadable."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        value = claims.get("exp", claims.get("expires"))
        return float(value) if value is not None else None
    except (IndexError, ValueError, TypeError, AttributeError):
        return None


class RefreshTokenAuth(AuthBase):
    """requests auth for the offers service; thread-safe, shares one token between threads."""

    def __init__(
        self,
        auth_url: str,
        refresh_token: str,
        session: requests.Session,
        *,
        lifetime_s: float = 300.0,
        margin_s: float = 10.0,
        cache_file: Path | None = None,
    ) -> None:
        register_secret(refresh_token)
        self.auth_url = auth_url
        self._refresh_token = refresh_token
        self._session = session
        self.lifetime_s = lifetime_s
        self.margin_s = min(margin_s, lifetime_s / 10)
        self.cache_file = cache_file
        self._token: str | None = None
        self._expires = 0.0  # epoch seconds
        self._lock = threading.Lock()
        self.tokens_fetched = 0
        # the refresh token itself never reaches the file, only its hash
        digest = hashlib.sha256(refresh_token.encode()).hexdigest()
        self._cache_key = f"{auth_url} {digest}"
        self._load_cache()

    def __repr__(self) -> str:  # never show the tokens
        return f"RefreshTokenAuth(auth_url={self.auth_url!r})"

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers[HEADER] = self.access_token()
        request.register_hook("response", self._retry_once_on_401)
        return request

    def access_token(self) -> str:
        with self._lock:
            remaining = self._expires - time.time()
            if self._token and remaining > self.margin_s:
                return self._token
            if self._token and remaining > 0:
                # Too close to expiry to use, too early for a new one: wait it out.
                log.info("access token expiring %s", kv(wait_s=f"{remaining:.2f}"))
                time.sleep(remaining + 0.05)
            self._token = None
            return self._fetch()

    def invalidate(self, token: str | None) -> None:
        with self._lock:
            if token is not None and token == self._token:
                self._token, self._expires = None, 0.0

    def _fetch(self) -> str:
        # Another holder's token blocks us until it expires (at most one lifetime). The waits
        # are random (mean max_wait/2), so budget about two lifetimes to outlast it surely.
        max_wait = min(10.0, max(0.5, self.lifetime_s / 4))
        attempts = int(2 * self.lifetime_s / (max_wait / 2)) + 4
        token = policy(
            attempts=attempts,
            initial_wait=0.5,
            max_wait=max_wait,
            retry_on=(TokenStillValid,),
            logger=log,
        )(self._request_token)
        expires = token_expiry(token) or time.time() + self.lifetime_s
        register_secret(token)
        self._token, self._expires = token, expires
        self.tokens_fetched += 1
        self._save_cache()
        log.info("access token obtained %s", kv(expires_in_s=f"{expires - time.time():.1f}"))
        return token

    def _request_token(self) -> str:
        response = self._session.post(
            self.auth_url, headers={HEADER: self._refresh_token}, timeout=30
        )
        if response.status_code == 201:
            return str(response.json()["access_token"])
        if response.status_code == 400:
            raise TokenStillValid(
                "offers service refused a new access token: another one is still valid"
            )
        if response.status_code == 401:
            raise RefreshTokenRejected(
                "offers service rejected the refresh token (401): check OFFERS_REFRESH_TOKEN"
            )
        response.raise_for_status()
        raise TransientError(
            f"unexpected HTTP {response.status_code} from the offers auth endpoint"
        )

    def _retry_once_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or getattr(response.request, "offers_retried", False):
            return response
        log.info("access token refused %s", kv(status=401, url=response.request.path_url))
        self.invalidate(response.request.headers.get(HEADER))
        _ = response.content  # release the connection for reuse
        response.close()
        retry = response.request.copy()
        retry.headers[HEADER] = self.access_token()
        retry.offers_retried = True  # type: ignore[attr-defined]
        if response.connection is None:
            return response
        again: requests.Response = response.connection.send(retry, **kwargs)
        again.history.append(response)
        again.request = retry
        return again

    def _cached(self) -> dict[str, dict[str, Any]]:
        """The cache file's tokens by key; an unreadable or old-format file counts as empty."""
        if self.cache_file is None or not self.cache_file.exists():
            return {}
        try:
            tokens = json.loads(self.cache_file.read_text()).get("tokens")
        except (ValueError, OSError, AttributeError):
            return {}
        return tokens if isinstance(tokens, dict) else {}

    def _load_cache(self) -> None:
        entry = self._cached().get(self._cache_key)
        try:
            token, expires = str(entry["access_token"]), float(entry["expires_at"])  # type: ignore[index]
        except (TypeError, KeyError, ValueError):
            return
        if expires > time.time():
            register_secret(token)
            self._token, self._expires = token, expires

    def _save_cache(self) -> None:
        if self.cache_file is None:
            return
        now = time.time()
        tokens = {
            key: entry
            for key, entry in self._cached().items()
            if isinstance(entry, dict)
            and isinstance(entry.get("expires_at"), int | float)
            and entry["expires_at"] > now
        }
        tokens[self._cache_key] = {"access_token": self._token, "expires_at": self._expires}
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        self.cache_file.touch(mode=0o600, exist_ok=True)
        self.cache_file.chmod(0o600)
        self.cache_file.write_text(json.dumps({"tokens": tokens}))
