"""HTTP side of the offers service: registration and offers, through dlt's retrying client."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import requests
from dlt.sources.helpers.requests import Client

from pipelines.offers.auth import RefreshTokenAuth


class ProductFailed(Exception):
    """This product could not be registered or synced; the others go on."""


@dataclass(frozen=True)
class Offer:
    id: str
    price: int
    items_in_stock: int

    @classmethod
    def parse(cls, raw: Any) -> Offer:
        """Validate one offer of the service's payload; ProductFailed names what is wrong."""
        try:
            offer_id = str(uuid.UUID(str(raw["id"])))
            price, stock = raw["price"], raw["items_in_stock"]
        except (KeyError, TypeError, ValueError) as exc:
            raise ProductFailed(f"malformed offer {raw!r}: {exc}") from None
        if not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (price, stock)
        ):
            raise ProductFailed(
                f"malformed offer {offer_id}: price and items_in_stock must be integers >= 0"
            )
        return cls(offer_id, price, stock)


class OffersClient:
    def __init__(self, base_url: str, http: Client, auth: RefreshTokenAuth) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = http  # its .session is per thread
        self.auth = auth

    def register(self, product_id: str, name: str, description: str | None) -> bool:
        """True when the service has the product now (new, or refused as already registered)."""
        response = self.http.session.post(
            f"{self.base_url}/api/v1/products/register",
            json={"id": product_id, "name": name, "description": description},
            auth=self.auth,
        )
        if response.status_code in (200, 201, 409):
            return True
        if response.status_code == 400:
            # "registering twice is refused" without saying how: a product whose offers the
            # service serves is registered.
            return (
                self.http.session.get(self._offers_url(product_id), auth=self.auth).status_code
                == 200
            )
        raise ProductFailed(f"register failed: HTTP {response.status_code} {response.text[:200]}")

    def offers(self, product_id: str) -> list[Offer]:
        response = self.http.session.get(self._offers_url(product_id), auth=self.auth)
        if response.status_code == 404:
            raise ProductFailed("unknown to the offers service (404)")
        if response.status_code != 200:
            raise ProductFailed(f"offers failed: HTTP {response.status_code} {response.text[:200]}")
        payload = response.json()
        if not isinstance(payload, list):
            raise ProductFailed(f"offers payload is not a list: {type(payload).__name__}")
        unique = {
            offer.id: offer for offer in map(Offer.parse, payload)
        }  # a repeated id: the last wins
        return list(unique.values())

    def try_offers(self, product: Any) -> list[Offer] | Exception:
        """offers(product.id), with the failure returned rather than raised (for a thread pool)."""
        try:
            return self.offers(product.id)
        except (ProductFailed, requests.RequestException) as exc:
            return exc

    def _offers_url(self, product_id: str) -> str:
        return f"{self.base_url}/api/v1/products/{product_id}/offers"
