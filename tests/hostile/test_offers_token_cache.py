"""The offers access-token cache, keyed by service URL and a hash of the refresh token.

Before: one cached token for whatever service and refresh token: a run pointed at another
offers service sent it the first service's token, and a wrong refresh token passed while the
cached token was valid.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from pipelines.offers.auth import RefreshTokenAuth, RefreshTokenRejected
from pipelines.offers.pipeline import run
from pipelines.offers.sync import SyncSettings, http_session
from sandbox.offers.app import create_app
from tests.offers.conftest import (
    REFRESH_TOKEN,
    OffersAdmin,
    aggregator_db,
    offers_admin,
    sync_settings,
)

__all__ = ["aggregator_db", "offers_admin", "sync_settings"]
pytestmark = pytest.mark.e2e
OTHER_REFRESH_TOKEN = "the-other-services-refresh-token"


@pytest.fixture
def other_service() -> Iterator[str]:
    """A second offers service (the same stand-in, its own tokens) on a free port."""
    server = make_server("127.0.0.1", 0, create_app({OTHER_REFRESH_TOKEN}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_each_service_and_refresh_token_has_its_own_cached_token(
    offers_admin: OffersAdmin,
    other_service: str,
    sync_settings: Callable[..., SyncSettings],
    tmp_path: Path,
) -> None:
    settings = sync_settings()
    outcomes = run(settings, pipelines_dir_=tmp_path / "p")  # caches the first service's token
    assert [o.status for o in outcomes] == ["ok"] * 5
    cache = settings.token_cache
    assert cache is not None
    first_token = next(iter(json.loads(cache.read_text())["tokens"].values()))["access_token"]

    # pointed at another service, the cached token is never sent: that service issues its own
    other = RefreshTokenAuth(
        f"{other_service}/api/v1/auth", OTHER_REFRESH_TOKEN, http_session(), cache_file=cache
    )
    assert other.access_token() != first_token
    assert other.tokens_fetched == 1

    # a wrong refresh token does not pass on the strength of the cached token
    wrong = RefreshTokenAuth(
        f"{offers_admin.url}/api/v1/auth", "not-the-token", http_session(), cache_file=cache
    )
    with pytest.raises(RefreshTokenRejected, match="401"):
        wrong.access_token()

    # the refresh token is never written, only its hash; both services' tokens are kept
    text = cache.read_text()
    assert REFRESH_TOKEN not in text
    assert OTHER_REFRESH_TOKEN not in text
    assert len(json.loads(text)["tokens"]) == 2
    assert cache.stat().st_mode & 0o077 == 0

    # the next run against the first service still reuses its own token (no new one asked)
    issued = offers_admin.stats()["tokens_issued"]
    again = run(settings, pipelines_dir_=tmp_path / "p")
    assert [o.status for o in again] == ["ok"] * 5
    assert offers_admin.stats()["tokens_issued"] == issued
