"""ProductsSink: one Glassdome product per record, deduplicated per batch (last one wins)."""

from __future__ import annotations

import time
import typing as t
from concurrent.futures import FIRST_COMPLETED, Future, wait
from functools import cached_property

from connector_kit import batches
from connector_kit.logs import Progress, summary
from connector_kit.sinks import SinkHost, sdk_target
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_glassdome.client import request_size
from target_glassdome.delivery import Delivery, Tally, problem


class DeliveryHost(SinkHost, t.Protocol):
    """What a ProductsSink uses of its target: the run's one Delivery, shared by its sinks."""

    @property
    def delivery(self) -> Delivery: ...


class ProductsSink(BatchSink):
    """Sends `{id, sku, status}` records in API-sized chunks while reading goes on.

    - A chunk leaves as soon as it holds `request_size` distinct ids, so HTTP overlaps parsing.
    - Records arrive in source order (the tap reads sorted by updated_at): a later record for
      an id replaces the pending one, and waits for an in-flight one, so the newest wins.
    - A drain (the SDK's batch) waits for every chunk, then sends what had to wait for
      them (sku moves and swaps), so STATE follows only written data.
    """

    MAX_SIZE_DEFAULT = 5000

    def __init__(self, target: DeliveryHost, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(sdk_target(target), *args, **kwargs)
        self.delivery = target.delivery
        self.tally = Tally()
        self.pending: dict[str, dict[str, t.Any]] = {}
        self.in_flight: list[Future[None]] = []
        self.in_flight_ids: set[str] = set()
        self.request_size = request_size(self.config)
        self.max_in_flight = 2 * int(self.config.get("max_concurrency", 4))
        self.started = time.monotonic()
        self.progress = Progress(self.logger, stream=self.stream_name)
        self.retried_before = self.delivery.client.retried
        # The SDK already drops `_sdc_*` fields unless add_record_metadata is on.
        self.strip_metadata = self.include_sdc_metadata_properties

    @cached_property
    @override
    def validate_schema(self) -> bool:
        # Glassdome's own three rules are checked per record (see `problem`); full jsonschema
        # validation is the costliest step of a Singer target, so it is opt-in.
        return self.config.get("validate_records") is True

    @override
    def process_record(self, record: dict, context: dict) -> None:
        self.tally.read += 1  # only this (the reading) thread counts reads: no lock
        if self.strip_metadata:
            record = {k: v for k, v in record.items() if not k.startswith("_sdc_")}
        reason = problem(record)
        if reason is not None:
            self.delivery.refused_before_sending(
                record, reason, self.tally, stream=self.stream_name
            )
            return
        record["sku"] = record["sku"].strip()
        if record["id"] in self.in_flight_ids:
            self.wait()
        if self.delivery.is_held(record["id"]):
            self.dispatch()
            self.wait()
            self.delivery.flush()
        self.pending[record["id"]] = record
        if len(self.pending) >= self.request_size:
            self.dispatch()

    @override
    def process_batch_files(
        self,
        encoding: t.Any,
        files: t.Sequence[str],
        transform: t.Callable[[dict], dict | None] | None = None,
    ) -> None:
        """BATCH files take the RECORD path (checked, deduplicated, sent in chunks), read a
        chunk at a time. Returns once every product in them is written: a STATE after them
        is safe to emit."""
        for url in files:
            for chunk in batches.read_records(encoding, url):
                self.record_counter_metric.increment(len(chunk))
                for record in chunk:
                    mapped = transform(record) if transform else record
                    if mapped is not None:
                        self.process_record(mapped, {})
        self.process_batch({})

    def dispatch(self) -> None:
        records, self.pending = list(self.pending.values()), {}
        if not records:
            return
        self.in_flight.extend(self.delivery.submit(records, self.tally))
        self.progress.add(len(records))
        self.in_flight_ids.update(r["id"] for r in records)
        # Back-pressure on the reader: wait for whichever chunk finishes first, not the oldest
        # (one slow request would leave the other senders idle behind it).
        while len(self.in_flight) > self.max_in_flight:
            done, pending = wait(self.in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                future.result()  # a transient fault that outlived its retries stops the run
            self.in_flight = list(pending)

    def wait(self) -> None:
        """Block until every chunk sent so far is written (or rejected)."""
        in_flight, self.in_flight = self.in_flight, []
        self.in_flight_ids.clear()
        for future in in_flight:
            future.result()  # a transient fault that outlived its retries stops the run

    @override
    def process_batch(self, context: dict) -> None:
        self.dispatch()
        self.wait()
        self.delivery.flush()
        self.delivery.batch_written = True

    @override
    def clean_up(self) -> None:
        self.progress.stop()
        elapsed = time.monotonic() - self.started
        tally = self.tally
        summary(
            self.logger,
            stream=self.stream_name,
            received=tally.read,
            inserted=tally.inserted,
            updated=tally.updated,
            unchanged=tally.unchanged,
            rejected=tally.rejected,
            retried=self.delivery.client.retried - self.retried_before,
            seconds=round(elapsed, 2),
        )
        super().clean_up()
