"""The service key that writes need: `X-API-Key`, compared in constant time, never logged."""

from __future__ import annotations

import hmac

from pydantic import SecretStr

from service.core.errors import Unauthorized

API_KEY_HEADER = "X-API-Key"


def check_api_key(given: str | None, expected: SecretStr) -> None:
    """Raise Unauthorized unless `given` is the configured key."""
    if not given:
        raise Unauthorized(f"this endpoint needs the {API_KEY_HEADER} header")
    if not hmac.compare_digest(given.encode(), expected.get_secret_value().encode()):
        raise Unauthorized(f"the {API_KEY_HEADER} header does not hold a valid key")
