"""Keys: the service key writes need, the admin key, and partners' keys (stored hashed).

Every comparison is constant time; no key is ever logged (connector_kit masks the configured
ones, and partner keys are only ever returned once, never written to a log line).

Partner keys are 256 random bits, so they are hashed with HMAC-SHA256 under APP_SECRET_KEY
rather than a slow password hash: nobody can guess such a key whatever the hash costs, a
leaked table is useless without the server secret, and the hash is the lookup key (one indexed
query per request, where argon2 would cost tens of ms per request and need a key id).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from pydantic import SecretStr

from service.core.errors import Unauthorized

API_KEY_HEADER = "X-API-Key"
ADMIN_KEY_HEADER = "X-Admin-Key"
PARTNER_KEY_PREFIX = "pk_"


def check_api_key(given: str | None, expected: SecretStr) -> None:
    """Raise Unauthorized unless `given` is the configured key."""
    if not given:
        raise Unauthorized(f"this endpoint needs the {API_KEY_HEADER} header")
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise Unauthorized(f"the {API_KEY_HEADER} header does not hold a valid key")


def check_admin_key(given: str | None, expected: SecretStr) -> None:
    if not given:
        raise Unauthorized(f"this endpoint needs the {ADMIN_KEY_HEADER} header")
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise Unauthorized(f"the {ADMIN_KEY_HEADER} header does not hold a valid key")


def new_partner_key() -> str:
    return PARTNER_KEY_PREFIX + secrets.token_urlsafe(32)


def partner_key_hash(key: str, secret: SecretStr) -> str:
    return hmac.new(secret.get_secret_value().encode(), key.encode(), hashlib.sha256).hexdigest()
