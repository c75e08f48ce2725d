"""Registering a new product with the offers service, through the offers pipeline's client.

The same client and refresh-token auth as the offers sync (one access token shared by every
request of this process, cached where the pipeline caches it). Registration is best effort:
when the offers service fails or takes longer than OFFERS_REGISTER_TIMEOUT_S, the product stays
`registered: false` and the next offers sync registers it (a late answer still counts: the
service answers 409 to the sync, which marks the product registered).
"""

from __future__ import annotations

import logging
import uuid

import anyio
import anyio.to_thread
from connector_kit.logs import kv
from dlt.sources.helpers.requests import Client

from pipelines.offers.client import OffersClient
from pipelines.offers.pipeline import token_cache_file
from pipelines.offers.sync import SyncSettings, offers_client
from service.core.config import Settings
from service.core.errors import first_line
from service.products.models import Product

log = logging.getLogger("service.products")


class Registrar:
    def __init__(self, settings: Settings) -> None:
        self.timeout_s = settings.offers_register_timeout_s
        sync_settings = SyncSettings(
            service_url=settings.offers_service_url,
            refresh_token=settings.offers_refresh_token.get_secret_value(),
            database_url=settings.libpq_url,
            token_cache=token_cache_file(),
        )
        # A request waits for one retry at most; the sync retries the rest.
        http = Client(
            raise_for_status=False,
            request_timeout=self.timeout_s,
            request_max_attempts=2,
            request_backoff_factor=0.2,
        )
        self.client: OffersClient = offers_client(sync_settings, http)

    async def register(self, product: Product) -> bool:
        """True when the offers service has the product now."""
        try:
            with anyio.fail_after(self.timeout_s):
                return await anyio.to_thread.run_sync(
                    self._register,
                    product.id,
                    product.name,
                    product.description,
                    abandon_on_cancel=True,
                )
        except TimeoutError:
            log.warning(
                "registration pending %s",
                kv(product_id=product.id, error=f"no answer within {self.timeout_s:g} s"),
            )
            return False

    def _register(self, product_id: uuid.UUID, name: str, description: str | None) -> bool:
        try:
            done = self.client.register(str(product_id), name, description)
        except Exception as exc:  # whatever failed here, the next sync registers the product
            log.warning(
                "registration failed %s",
                kv(product_id=product_id, error=f"{type(exc).__name__}: {first_line(exc)}"),
            )
            return False
        if not done:
            log.warning("registration refused %s", kv(product_id=product_id))
        return done
