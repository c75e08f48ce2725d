"""ProductsSink: one Glassdome product per record, deduplicated per batch (last one wins)."""

from __future__ import annotations

import time
import typing as t
from functools import cached_property

from connector_kit.logs import kv
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from target_glassdome.delivery import Delivery, Tally, problem

if t.TYPE_CHECKING:
    from target_glassdome.target import TargetGlassdome


class ProductsSink(BatchSink):
    """Collects `{id, sku, status}` records and hands each drained batch to the delivery.

    Records arrive in source order (the tap reads sorted by updated_at), so when one id
    occurs twice in a batch the later record is the newer one and replaces the earlier.
    """

    MAX_SIZE_DEFAULT = 5000

    def __init__(self, target: TargetGlassdome, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(target, *args, **kwargs)
        self.delivery: Delivery = target.delivery
        self.tally = Tally()
        self.pending: dict[str, dict[str, t.Any]] = {}
        self.started = time.monotonic()
        self.retried_before = self.delivery.client.retried

    @cached_property
    @override
    def validate_schema(self) -> bool:
        # Glassdome's own three rules are checked per record (see `problem`); full jsonschema
        # validation is the costliest step of a Singer target, so it is opt-in.
        return bool(self.config.get("validate_records", False))

    @override
    def process_record(self, record: dict, context: dict) -> None:
        self.tally.add("read")
        record = {k: v for k, v in record.items() if not k.startswith("_sdc_")}
        reason = problem(record)
        if reason is not None:
            self.delivery.reject(record, reason, self.tally, stream=self.stream_name)
            return
        record["sku"] = record["sku"].strip()
        self.pending[record["id"]] = record

    @override
    def process_batch(self, context: dict) -> None:
        records, self.pending = list(self.pending.values()), {}
        if records:
            self.delivery.deliver(records, self.tally)

    @override
    def clean_up(self) -> None:
        elapsed = time.monotonic() - self.started
        tally = self.tally
        self.logger.info(
            "summary %s",
            kv(
                stream=self.stream_name,
                read=tally.read,
                inserted=tally.inserted,
                updated=tally.updated,
                unchanged=tally.unchanged,
                rejected=tally.rejected,
                retried=self.delivery.client.retried - self.retried_before,
                elapsed_s=f"{elapsed:.2f}",
                records_per_s=f"{tally.read / elapsed if elapsed else 0:.0f}",
            ),
        )
        super().clean_up()
