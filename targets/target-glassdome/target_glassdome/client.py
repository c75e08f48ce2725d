"""The Glassdome products API over one keep-alive session, with the shared retry policy."""

from __future__ import annotations

import logging
import threading
import typing as t
from dataclasses import dataclass

import msgspec
import requests
from connector_kit import retry
from connector_kit.http import read_environment_once
from requests.adapters import HTTPAdapter

PAGE_LIMIT = 200  # the API clamps `limit` to 1..200
JSON_BODY = {"Content-Type": "application/json"}
encode_json = msgspec.json.Encoder().encode  # several times faster than json.dumps
log = logging.getLogger("target_glassdome.client")


@dataclass(frozen=True)
class Product:
    """What Glassdome holds for one external id."""

    sku: str
    status: str


class Rejected(Exception):
    """Glassdome refused the batch because of its content (4xx, or a constraint 500).

    Retrying the same batch can never succeed; bisect it to find the bad records.
    """

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"HTTP {status}: {error}")
        self.status = status
        self.error = error

    @property
    def duplicate_external_id(self) -> bool:
        return "products_company_external_id_key" in self.error

    @property
    def sku_clash(self) -> bool:
        return "products_company_sku_key" in self.error


class GlassdomeClient:
    """POST /ingest/products, PATCH /products and GET /products for one API key."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        pool_size: int,
        timeout: float,
        retry_policy: t.Callable[[], t.Any],
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.retry_policy = retry_policy
        self.session = requests.Session()
        self.session.headers.update({"X-API-Key": api_key, "Accept": "application/json"})
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        read_environment_once(self.session, self.api_url)
        self.retried = 0
        self._lock = threading.Lock()

    def count_retry(self, _state: t.Any) -> None:
        with self._lock:
            self.retried += 1

    def close(self) -> None:
        self.session.close()

    def _send(self, method: str, path: str, **kwargs: t.Any) -> t.Any:
        """One request under the retry policy; returns the JSON body of a 2xx answer."""
        for attempt in self.retry_policy():
            with attempt:
                response = self.session.request(
                    method, self.api_url + path, timeout=self.timeout, **kwargs
                )
                return self._judge(response)
        raise AssertionError("unreachable: the retry policy reraises")  # pragma: no cover

    @staticmethod
    def _judge(response: requests.Response) -> t.Any:
        status = response.status_code
        if status < 300:
            return response.json()
        error = _error_text(response)
        # A constraint violation is the content's fault; an injected or unknown 5xx is not.
        if status == 500 and ("violates" in error or "duplicate key" in error):
            raise Rejected(status, error)
        if status in retry.RETRYABLE_STATUS or status >= 500:
            raise retry.TransientError(
                f"HTTP {status} from {response.request.method} {response.url}: {error}",
                retry_after=retry.retry_after_seconds(response),
            )
        if status in (401, 403):
            raise PermissionError(
                f"HTTP {status} from {response.request.method} {response.url}: {error}"
                " (check the API key)"
            )
        raise Rejected(status, error)

    def insert(self, products: list[dict[str, t.Any]]) -> int:
        body = self._send("POST", "/ingest/products", data=encode_json(products), headers=JSON_BODY)
        return int(body.get("inserted", 0))

    def update(self, products: list[dict[str, t.Any]]) -> tuple[int, int]:
        body = self._send("PATCH", "/products", data=encode_json(products), headers=JSON_BODY)
        return int(body.get("updated", 0)), int(body.get("skipped", 0))

    def page(self, offset: int) -> list[dict[str, t.Any]]:
        params = {"limit": PAGE_LIMIT, "offset": offset, "include_deleted": "true"}
        body = self._send("GET", "/products", params=params)
        return list(body.get("items", []))


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return str(body)[:300]
