"""The customer API as a dlt source: every page of /api/customers, merged on customer_id.

rest_api does the paging (an explicit page_number paginator) over dlt's retrying client; the
rows are then typed into an Arrow table with the seed's column types (DATE, DECIMAL(15,2),
TIMESTAMP), so dlt writes parquet straight from it instead of normalizing row by row.

The API has no "updated since" filter, so there is no incremental cursor: each run pages
through everything and the merge makes the rerun idempotent (changed rows are updated).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.jsonpath import compile_path
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator
from dlt.sources.rest_api import rest_api_resources

from pipelines.customers.settings import (
    ARROW_SCHEMA,
    BATCH_ROWS,
    COLUMNS,
    MERGE_STRATEGY,
    PAGE_SIZE_MAX,
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


def customers_pages(base_url: str, page_size: int) -> Any:
    """rest_api over the list endpoint (dlt's retrying client: 5xx, 429, timeouts)."""
    (pages,) = rest_api_resources(
        {
            "client": {
                "base_url": base_url.rstrip("/") + "/",
                # Explicit: auto-detection picked a 0-based paginator, dropped rows (FIELD_NOTES).
                "paginator": PageNumberPaginator(
                    base_page=1, page_param="page", total_path=TOTAL_PAGES
                ),
            },
            "resources": [
                {
                    "name": "customer_pages",
                    "endpoint": {
                        "path": "api/customers",
                        "params": {"limit": min(page_size, PAGE_SIZE_MAX)},
                        "data_selector": DATA,
                    },
                }
            ],
        }
    )
    return pages


@dlt.source(name="customers", max_table_nesting=0)
def customers_source(
    base_url: str = dlt.config.value, page_size: int = PAGE_SIZE_MAX, batch_rows: int = BATCH_ROWS
) -> Any:
    """The `customers` table: the API's pages, typed as Arrow tables of `batch_rows` rows."""
    pages = customers_pages(base_url, page_size)

    @dlt.resource(
        name=TABLE,
        primary_key="customer_id",
        write_disposition={"disposition": "merge", "strategy": MERGE_STRATEGY},
        columns=COLUMNS,
    )
    def customers() -> Iterator[pa.Table]:
        # dlt computes a table schema per item: a few large tables, not one per page.
        batch: list[dict[str, Any]] = []
        for item in pages:
            batch.extend(item if isinstance(item, list) else [item])
            if len(batch) >= batch_rows:
                yield page_to_arrow(batch)
                batch = []
        if batch:
            yield page_to_arrow(batch)

    return customers
