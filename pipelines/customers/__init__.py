"""The customer API as a dlt source: every page of /api/customers, merged on customer_id.

rest_api does the paging (an explicit page_number paginator) over dlt's retrying client; the
rows are then typed into an Arrow table with the seed's column types (DATE, DECIMAL(15,2),
TIMESTAMP), so dlt writes parquet straight from it instead of normalizing row by row.

The API has no "updated since" filter, so there is no incremental cursor: each run pages
through everything and the merge makes the rerun idempotent (changed rows are updated).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import dlt
import pyarrow as pa
import requests
from connector_kit.http import read_environment_once
from connector_kit.logs import kv
from dlt.common.jsonpath import compile_path
from dlt.sources.helpers import requests as dlt_requests
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from dlt.sources.rest_api import EndpointResource, RESTAPIConfig, rest_api_resources
from requests import Response

from pipelines.customers.settings import (
    BATCH_ROWS,
    COLUMNS,
    MERGE_STRATEGY,
    PAGE_FIELD,
    PAGE_SIZE_MAX,
    PAGE_STRIPES,
    QUEUE_ITEMS,
    REJECT_COLUMNS,
    REJECTS_TABLE,
    TABLE,
)
from pipelines.customers.validation import Batch

__all__ = ["customers_source", "page_to_arrow"]
log = logging.getLogger("pipelines.customers")

# Compiled once: dlt would parse these JSONPaths again for every page.
DATA, TOTAL_PAGES = compile_path("data"), compile_path("total_pages")


def page_to_arrow(page: list[dict[str, Any]]) -> pa.Table:
    """Customers as a typed Arrow table (rows the table cannot hold are left out)."""
    return Batch(page, dt.datetime.now(dt.UTC)).table


def page_ranges(total_pages: int, stripes: int) -> list[tuple[int, int]]:
    """Pages 1..total_pages as at most `stripes` contiguous, inclusive ranges."""
    size = max(1, -(-total_pages // max(1, stripes)))
    return [
        (first, min(first + size - 1, total_pages)) for first in range(1, total_pages + 1, size)
    ]


def customers_pages(
    base_url: str, limit: int, ranges: list[tuple[int, int]] | None = None
) -> list[Any]:
    """rest_api resources over the list endpoint, one per page range (all pages when None).

    Each has an explicit page_number paginator (auto-detection picked a 0-based one and dropped
    rows, docs/customers.md) and goes through dlt's retrying client (5xx, 429, timeouts).
    """
    resources: list[Any] = []
    for number, (first, last) in enumerate(ranges or [(1, 0)]):  # a client (session) each
        paginator = PageNumberPaginator(
            base_page=1,
            page=first,
            page_param="page",
            total_path=TOTAL_PAGES,
            maximum_page=last + 1 if last else None,  # exclusive
        )
        resource: EndpointResource = {
            "name": f"customer_pages_{number}",
            "endpoint": {
                "path": "api/customers",
                "params": {"limit": limit},
                "data_selector": DATA,
                "paginator": paginator,
                "response_actions": [decode_once],
            },
        }
        config: RESTAPIConfig = {
            "client": {"base_url": base_url.rstrip("/") + "/", "session": api_session(base_url)},
            "resources": [resource],
        }
        resources.extend(rest_api_resources(config))
    return resources


def api_session(base_url: str) -> requests.Session:
    """dlt's retrying session, reading the proxy environment once (connector_kit.http)."""
    return read_environment_once(dlt_requests.Client(raise_for_status=False).session, base_url)


def total_pages(base_url: str, limit: int) -> int:
    response = dlt_requests.get(
        f"{base_url.rstrip('/')}/api/customers", params={"page": 1, "limit": limit}
    )
    return int(response.json()["total_pages"])


def decode_once(response: Response, *args: Any, **kwargs: Any) -> Response:
    """Decode the JSON body once: rest_api reads it for the data, the paginator for total_pages.

    Numbers with a fraction are read as exact Decimals (a float would already have rounded
    them), and each row is marked with its page, which a reject names.
    """
    if response.ok:
        body = json.loads(response.content, parse_float=Decimal)
        url = response.request.url if response.request is not None else None
        page = parse_qs(urlsplit(url or "").query).get("page", ["?"])[0]
        rows = body.get("data") if isinstance(body, dict) else None
        for row in rows if isinstance(rows, list) else ():
            if isinstance(row, dict):
                row[PAGE_FIELD] = int(page) if page.isdigit() else page
        response.json = lambda **_: body  # type: ignore[method-assign]
    return response


def arrow_batches(rows: Iterable[dict[str, Any]], batch_rows: int) -> Iterator[Any]:
    """Rows as typed Arrow tables of `batch_rows` (dlt computes a table schema per item), and
    the rows the table cannot hold as `customer_rejects` rows."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= batch_rows:
            yield from _typed(batch)
            batch = []
    if batch:
        yield from _typed(batch)


def _typed(rows: list[dict[str, Any]]) -> Iterator[Any]:
    batch = Batch(rows, dt.datetime.now(dt.UTC))
    if batch.table.num_rows:
        yield dlt.mark.with_table_name(batch.table, TABLE)
    if batch.rejects:
        for reject in batch.rejects:
            log.warning(
                "customer rejected %s",
                kv(customer_id=reject["customer_id"], page=reject["page"], reason=reject["reason"]),
            )
        yield dlt.mark.with_table_name(batch.rejects, REJECTS_TABLE)


def concurrent_items(sources: list[Iterator[Any]]) -> Iterator[Any]:
    """Items of several iterators, each drained by its own thread; bounded by a queue.

    A reader's exception is raised here; when the consumer stops early the readers stop too.
    """
    items: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_ITEMS)
    stop, done = threading.Event(), object()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(source: Iterator[Any]) -> None:
        try:
            for item in source:
                if stop.is_set():
                    return
                put(item)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)
        finally:
            put(done)

    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        for source in sources:
            pool.submit(read, source)
        try:
            running = len(sources)
            while running:
                item = items.get()
                if item is done:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            stop.set()


@dlt.source(name="customers", max_table_nesting=0)
def customers_source(
    base_url: str = dlt.config.value,
    page_size: int = PAGE_SIZE_MAX,
    batch_rows: int = BATCH_ROWS,
    page_stripes: int = PAGE_STRIPES,
) -> Any:
    """The `customers` table: the API's pages, typed as Arrow tables of `batch_rows` rows.

    With `page_stripes` > 1 the page range (from page 1's total_pages) is split into that many
    ranges read concurrently, each by a rest_api resource with its own paginator.
    """
    limit = min(page_size, PAGE_SIZE_MAX)

    @dlt.resource(name=TABLE)
    def customers() -> Iterator[Any]:
        if page_stripes > 1:
            ranges = page_ranges(total_pages(base_url, limit), page_stripes)
            # Each reader types its own rows: only whole Arrow tables cross the queue.
            yield from concurrent_items(
                [
                    arrow_batches(pages, batch_rows)
                    for pages in customers_pages(base_url, limit, ranges)
                ]
            )
        else:
            yield from arrow_batches(customers_pages(base_url, limit)[0], batch_rows)

    # two tables, each with its own hints (resource-level hints would reach both)
    customers.apply_hints(
        table_name=TABLE,
        primary_key="customer_id",
        write_disposition={"disposition": "merge", "strategy": MERGE_STRATEGY},
        columns=COLUMNS,
        create_table_variant=True,
    )
    customers.apply_hints(
        table_name=REJECTS_TABLE,
        write_disposition="append",
        columns=REJECT_COLUMNS,
        create_table_variant=True,
    )
    return customers
