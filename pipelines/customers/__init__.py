"""The customer API as a dlt source: every page of /api/customers, merged on customer_id.

rest_api does the paging (an explicit page_number paginator) over dlt's retrying client; the
rows are then typed into an Arrow table with the seed's column types (DATE, DECIMAL(15,2),
TIMESTAMP), so dlt writes parquet straight from it instead of normalizing row by row.

The API has no "updated since" filter, so there is no incremental cursor: each run pages
through everything and the merge makes the rerun idempotent (changed rows are updated).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.jsonpath import compile_path
from dlt.sources.helpers import requests as dlt_requests
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from dlt.sources.rest_api import RESTAPIConfig, rest_api_resources

from pipelines.customers.settings import (
    ARROW_SCHEMA,
    BATCH_ROWS,
    COLUMNS,
    MERGE_STRATEGY,
    PAGE_SIZE_MAX,
    PAGE_STRIPES,
    QUEUE_ROWS,
    TABLE,
)

__all__ = ["customers_source", "page_to_arrow"]

# Compiled once: dlt would parse these JSONPaths again for every page.
DATA, TOTAL_PAGES = compile_path("data"), compile_path("total_pages")
RAW_TYPES = {name: pa.string() for name in ARROW_SCHEMA.names} | {"account_balance": pa.float64()}


def page_to_arrow(page: list[dict[str, Any]]) -> pa.Table:
    """Customers as a typed Arrow table; fields the seed does not know are kept, inferred."""
    raw = pa.Table.from_pylist(
        page, schema=pa.schema([(n, RAW_TYPES[n]) for n in ARROW_SCHEMA.names])
    )
    columns = [
        pc.cast(raw[f.name], f.type, safe=f.type != pa.decimal128(15, 2)) for f in ARROW_SCHEMA
    ]
    table = pa.Table.from_arrays(columns, schema=ARROW_SCHEMA)
    extra = sorted(set().union(*page) - set(ARROW_SCHEMA.names))
    if extra:
        more = pa.Table.from_pylist([{k: row.get(k) for k in extra} for row in page])
        for name in extra:
            table = table.append_column(name, more[name])
    return table


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
    rows, FIELD_NOTES) and goes through dlt's retrying client (5xx, 429, timeouts).
    """
    resources: list[Any] = []
    for number, (first, last) in enumerate(ranges or [(1, 0)]):
        paginator = PageNumberPaginator(
            base_page=1,
            page=first,
            page_param="page",
            total_path=TOTAL_PAGES,
            maximum_page=last + 1 if last else None,  # exclusive
        )
        resources.append(
            {
                "name": f"customer_pages_{number}",
                "endpoint": {
                    "path": "api/customers",
                    "params": {"limit": limit},
                    "data_selector": DATA,
                    "paginator": paginator,
                },
            }
        )
    config: RESTAPIConfig = {
        "client": {"base_url": base_url.rstrip("/") + "/"},
        "resources": resources,
    }
    return list(rest_api_resources(config))


def total_pages(base_url: str, limit: int) -> int:
    response = dlt_requests.get(
        f"{base_url.rstrip('/')}/api/customers", params={"page": 1, "limit": limit}
    )
    return int(response.json()["total_pages"])


def concurrent_rows(resources: list[Any]) -> Iterator[dict[str, Any]]:
    """Rows of several resources, each read by its own thread; bounded by a queue.

    A reader's exception is raised here; when the consumer stops early the readers stop too.
    """
    rows: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_ROWS)
    stop, done = threading.Event(), object()

    def put(item: Any) -> None:
        while not stop.is_set():
            try:
                rows.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(resource: Any) -> None:
        try:
            for item in resource:
                if stop.is_set():
                    return
                put(item)
        except BaseException as exc:  # handed to the consumer, which raises it
            put(exc)
        finally:
            put(done)

    with ThreadPoolExecutor(max_workers=len(resources)) as pool:
        for resource in resources:
            pool.submit(read, resource)
        try:
            running = len(resources)
            while running:
                item = rows.get()
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

    @dlt.resource(
        name=TABLE,
        primary_key="customer_id",
        write_disposition={"disposition": "merge", "strategy": MERGE_STRATEGY},
        columns=COLUMNS,
    )
    def customers() -> Iterator[pa.Table]:
        if page_stripes > 1:
            ranges = page_ranges(total_pages(base_url, limit), page_stripes)
            items: Iterator[Any] = concurrent_rows(customers_pages(base_url, limit, ranges))
        else:
            items = iter(customers_pages(base_url, limit)[0])
        # dlt computes a table schema per item: a few large tables, not one per page.
        batch: list[dict[str, Any]] = []
        for item in items:
            batch.extend(item if isinstance(item, list) else [item])
            if len(batch) >= batch_rows:
                yield page_to_arrow(batch)
                batch = []
        if batch:
            yield page_to_arrow(batch)

    return customers
