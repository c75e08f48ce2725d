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

MAX_BATCH = 200  # records per request the API is known to take comfortably


def request_size(config: t.Mapping[str, t.Any]) -> int:
    """Products per request: `request_size`, or its old name `batch_size` (deprecated)."""
    return int(config.get("batch_size") or config.get("request_size") or MAX_BATCH)


PAGE_LIMIT = 200  # the API clamps `limit` to 1..200
JSON_BODY = {"Content-Type": "application/json"}
encode_json = msgspec.json.Encoder().encode  # several times faster than json.dumps
log = logging.getLogger("target_glassdome.client")


@dataclass(frozen=True)
class Product:
    """What Glassdome holds for one external id."""

    sku: str
    status: str


# Words that may appear in a refusal's message: they only make a dead-letter reason more
# readable. The wording is the database's, not the API's contract: never decide on it.
HINTS = (
    ("sku", "the sku is taken"),
    ("external", "the id exists"),
    ("status", "the status is not allowed"),
)


class Rejected(Exception):
    """Glassdome refused the batch because of its content: a 4xx, or a 500 that outlived
    every retry (by the contract a unique or check violation is a 500; so is a fault).

    Retrying the same batch can never succeed; bisect it to find the bad records.
    """

    def __init__(self, status: int, error: str) -> None:
        super().__init__(f"HTTP {status}: {error}")
        self.status = status
        self.error = error

    @property
    def reason(self) -> str:
        """The dead-letter reason: the status, and a hint from the message if it has one."""
        text = self.error.lower()
        hint = next((hint for word, hint in HINTS if word in text), None)
        return f"refused by Glassdome (HTTP {self.status}{f', probably {hint}' if hint else ''})"


class Unclear(retry.TransientError):
    """A 500: an injected or passing fault, or a batch Glassdome refused (the contract's
    answer to a unique or check violation). Retried; only what exists afterwards, never the
    message, tells the two apart."""


def classify(status: int) -> str:
    """What an answer means by the contract: `ok`, `transient`, `unclear` (500), `denied`
    (401/403) or `refused` (another 4xx)."""
    if status < 300:
        return "ok"
    if status == 500:
        return "unclear"
    if status in retry.RETRYABLE_STATUS or status >= 500:
        return "transient"
    if status in (401, 403):
        return "denied"
    return "refused"


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
        return self._retrying(lambda: self._judge(self._request(method, path, **kwargs)), method)

    def _retrying(self, call: t.Callable[[], t.Any], method: str) -> t.Any:
        """`call` under the retry policy. A write whose 500s outlived every retry was
        refused (a fault that persistent is not plausible); a read's stays an error."""
        try:
            for attempt in self.retry_policy():
                with attempt:
                    return call()
        except Unclear as error:
            if method == "GET":
                raise
            raise Rejected(500, str(error.args[0])) from None
        raise AssertionError("unreachable: the retry policy reraises")  # pragma: no cover

    def _request(self, method: str, path: str, **kwargs: t.Any) -> requests.Response:
        return self.session.request(method, self.api_url + path, timeout=self.timeout, **kwargs)

    @staticmethod
    def _judge(response: requests.Response) -> t.Any:
        status = response.status_code
        kind = classify(status)
        if kind == "ok":
            return response.json()
        error = _error_text(response)
        if kind == "unclear":
            raise Unclear(error)
        if kind == "transient":
            raise retry.TransientError(
                f"HTTP {status} from {response.request.method} {response.url}: {error}",
                retry_after=retry.retry_after_seconds(response),
            )
        if kind == "denied":
            raise PermissionError(
                f"HTTP {status} from {response.request.method} {response.url}: {error}"
                " (check the API key)"
            )
        raise Rejected(status, error)

    def insert(self, products: list[dict[str, t.Any]]) -> bool:
        """POST new products: True once inserted, False if they turn out to be there already.

        A 500 cannot say whether the batch was refused or failed on the way, and an earlier
        attempt may have committed with its answer lost (connection dropped after the
        write). So after a 500, a PATCH of the same products probes what exists: all of
        them -> they are in, with our values; none -> the POST is retried; some -> refused
        as a batch, to be split by the caller.
        """
        body = encode_json(products)

        def post() -> bool:
            response = self._request("POST", "/ingest/products", data=body, headers=JSON_BODY)
            if classify(response.status_code) != "unclear":
                self._judge(response)
                return True
            updated, skipped = self.update(products)
            if skipped == 0:
                return False
            if updated:
                raise Rejected(500, f"{updated} of {len(products)} ids exist already")
            raise Unclear(_error_text(response))

        return bool(self._retrying(post, "POST"))

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
