"""The dlt resource: feeds in, rows for catalog_products, rejects and feed_imports out.

One resource dispatches to the three tables, so a feed's products, its rejects and its ledger
row always travel in one load package. Each feed is parsed completely before its first row
is yielded: a corrupt feed yields only its `failed` ledger row and nothing else.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
from collections.abc import Iterable, Iterator
from typing import Any, cast

import dlt
import pyarrow as pa
from connector_kit import files, logs
from connector_kit.pgtext import storable
from dlt.common.destination import TLoaderFileFormat
from dlt.extract.resource import DltResource

from pipelines.partner_feeds.feeds import Feed, FeedReader, FeedRejected, RawRow
from pipelines.partner_feeds.ledger import FeedOutcome, FeedStatus
from pipelines.partner_feeds.registry import PartnerRegistry
from pipelines.partner_feeds.settings import (
    CATALOG_ARROW_SCHEMA,
    CATALOG_COLUMNS,
    CATALOG_TABLE,
    LEDGER_COLUMNS,
    LEDGER_TABLE,
    REJECTS_COLUMNS,
    REJECTS_TABLE,
    RESOURCE_NAME,
)
from pipelines.partner_feeds.validation import RowRejected, validate

log = logging.getLogger(__name__)
PACKAGE_FEEDS_KEY = "partner_feeds"  # load package state: the feeds a package carries


def package_feeds(pipeline: dlt.Pipeline, load_id: str) -> list[dict[str, str]]:
    """The feeds (partner, feed_file, checksum) a load package carries."""
    state = cast(dict[str, Any], pipeline.get_load_package_state(load_id))
    return list(state.get(PACKAGE_FEEDS_KEY, []))


def partner_feeds_resource(
    feeds: Iterable[Feed],
    registry: PartnerRegistry,
    imported: set[tuple[str, str]],
    outcomes: list[FeedOutcome],
    *,
    batch_size: int = 5000,
    file_format: TLoaderFileFormat | None = None,
    recorded: Iterable[FeedOutcome] = (),
    max_field_chars: int | None = None,
) -> DltResource:
    """A resource over `feeds`; `imported` holds (partner, sha256) already in the ledger.

    `outcomes` receives one FeedOutcome per feed as it is extracted (the caller reports them).
    `recorded` holds outcomes decided without reading a feed (the destination refused their
    load): only their ledger rows are written. `file_format` is set per table: dlt's
    run(loader_file_format=...) skips table variants.
    """
    resource = dlt.resource(
        _extract(
            feeds,
            registry,
            imported,
            outcomes,
            batch_size=batch_size,
            recorded=recorded,
            max_field_chars=max_field_chars,
        ),
        name=RESOURCE_NAME,
        table_name=CATALOG_TABLE,
    )
    resource.apply_hints(
        table_name=CATALOG_TABLE,
        write_disposition={"disposition": "merge", "strategy": "delete-insert"},
        primary_key=["partner", "sku"],
        columns=CATALOG_COLUMNS,
        file_format=file_format,
        create_table_variant=True,
    )
    resource.apply_hints(
        table_name=REJECTS_TABLE,
        write_disposition="append",
        columns=REJECTS_COLUMNS,
        file_format=file_format,
        create_table_variant=True,
    )
    resource.apply_hints(
        table_name=LEDGER_TABLE,
        write_disposition="append",
        columns=LEDGER_COLUMNS,
        file_format=file_format,
        create_table_variant=True,
    )
    return resource


def _extract(
    feeds: Iterable[Feed],
    registry: PartnerRegistry,
    imported: set[tuple[str, str]],
    outcomes: list[FeedOutcome],
    *,
    batch_size: int,
    recorded: Iterable[FeedOutcome],
    max_field_chars: int | None = None,
) -> Iterator[Any]:
    seen = set(imported)
    sequence = itertools.count(1)
    # which feeds this package carries: read back if the destination refuses the package
    state = cast(dict[str, Any], dlt.current.load_package_state()["state"])
    carried = state.setdefault(PACKAGE_FEEDS_KEY, [])
    now = dt.datetime.now(dt.UTC)
    ledger = [o.ledger_row(now) for o in recorded]
    if ledger:
        yield dlt.mark.with_table_name(ledger, LEDGER_TABLE)
    for feed in feeds:
        started = dt.datetime.now(dt.UTC)
        # folder and file names may hold bytes that are not UTF-8 (lone surrogates in Python)
        partner, name = storable(feed.partner), storable(feed.name)
        key = (partner, feed.checksum)
        outcome = FeedOutcome(partner, name, feed.checksum, feed.path)
        outcomes.append(outcome)
        carried.append({"partner": partner, "feed_file": name, "checksum": feed.checksum})
        context = {"partner": partner, "file": name, "checksum": feed.checksum[:12]}
        if feed.refused is not None:  # a link, a FIFO, a device, too large: never opened
            outcome.status, outcome.error = FeedStatus.FAILED, storable(feed.refused)
            log.error("feed rejected %s", logs.kv(**context, error=feed.refused))
        elif key in seen:
            outcome.status = FeedStatus.DUPLICATE
            log.info("feed duplicate, skipped %s", logs.kv(**context))
        else:
            if not registry.known(feed.partner):
                log.warning("partner not in registry, defaults used %s", logs.kv(partner=partner))
            reader = FeedReader(feed, registry.adapter(feed.partner), **_limits(max_field_chars))
            try:
                reader.check()  # the whole feed parses, or nothing of it is yielded
            except files.FileChanged as exc:  # being written again: no ledger row, stays put
                outcomes.remove(outcome)
                carried.pop()
                log.warning("feed changed, left for the next run %s", logs.kv(**context, error=exc))
                continue
            except (FeedRejected, OSError) as exc:  # OSError: the file vanished or is unreadable
                outcome.status, outcome.error = FeedStatus.FAILED, str(exc)
                log.error("feed rejected %s", logs.kv(**context, error=exc))
            else:
                yield from _feed_rows(reader, outcome, started, sequence, batch_size)
                outcome.status = FeedStatus.LOADED
                seen.add(key)
                _remember(outcome, started)
                counts = {
                    "rows_loaded": outcome.rows_loaded,
                    "rows_rejected": outcome.rows_rejected,
                }
                log.info("feed extracted %s", logs.kv(**context, **counts))
            feed.release()
        yield dlt.mark.with_table_name([outcome.ledger_row(started)], LEDGER_TABLE)


def _limits(max_field_chars: int | None) -> dict[str, int]:
    return {} if max_field_chars is None else {"max_field_chars": max_field_chars}


def _remember(outcome: FeedOutcome, at: dt.datetime) -> None:
    """Last feed per partner in dlt state, shown by `dlt pipeline partner_feeds info`."""
    partners = dlt.current.resource_state().setdefault("last_feed", {})
    partners[outcome.partner] = {
        "file": outcome.feed_file,
        "checksum": outcome.checksum,
        "rows_loaded": outcome.rows_loaded,
        "rows_rejected": outcome.rows_rejected,
        "extracted_at": at.isoformat(),
    }


def _feed_rows(
    reader: FeedReader,
    outcome: FeedOutcome,
    started: dt.datetime,
    sequence: Iterator[int],
    batch_size: int,
) -> Iterator[Any]:
    """Validated products and rejects of one (already checked) feed, in batches."""
    lineage = {
        "partner": outcome.partner,
        "feed_file": outcome.feed_file,
        "feed_checksum": outcome.checksum,
    }
    products: list[dict[str, Any]] = []
    rejects: list[dict[str, Any]] = []
    for row in reader.rows():
        try:
            if row.problem is not None:  # rejected while read (an oversize field)
                raise RowRejected(row.problem)
            product = validate(row.fields, reader.adapter)
        except RowRejected as exc:  # a reason may quote a (long) value: cut it
            rejects.append(_reject(lineage, row, files.excerpt(exc, 300), started))
        except Exception as exc:  # a row must never sink its feed half-way
            log.debug("row validation crashed", exc_info=True)
            rejects.append(_reject(lineage, row, f"unexpected error: {exc}", started))
        else:
            extra = {"row_number": row.number, "imported_at": started, "ingest_seq": next(sequence)}
            products.append({**lineage, **product, **extra})
        if len(products) >= batch_size:
            outcome.rows_loaded += len(products)
            yield _arrow(products)
            products = []
        if len(rejects) >= batch_size:
            outcome.rows_rejected += len(rejects)
            yield dlt.mark.with_table_name(rejects, REJECTS_TABLE)
            rejects = []
    if products:
        outcome.rows_loaded += len(products)
        yield _arrow(products)
    if rejects:
        outcome.rows_rejected += len(rejects)
        yield dlt.mark.with_table_name(rejects, REJECTS_TABLE)


def _arrow(products: list[dict[str, Any]]) -> Any:
    table = pa.Table.from_pylist(products, schema=CATALOG_ARROW_SCHEMA)
    # dlt adds _dlt_load_id to dict rows only; catalog rows link to `_dlt_loads` like the others
    load_id = dlt.current.load_package_state()["load_id"]
    table = table.append_column(
        pa.field("_dlt_load_id", pa.string(), nullable=False), pa.repeat(load_id, len(table))
    )
    return dlt.mark.with_table_name(table, CATALOG_TABLE)


def _reject(lineage: dict[str, Any], row: RawRow, reason: str, at: dt.datetime) -> dict[str, Any]:
    sku = row.fields.get("sku")
    return {
        **lineage,
        "row_number": row.number,
        "sku": storable(sku.strip()) if isinstance(sku, str) and sku.strip() else None,
        "reason": storable(reason),
        "raw": storable(json.dumps(row.raw, ensure_ascii=False, default=str)),
        "rejected_at": at,
    }
