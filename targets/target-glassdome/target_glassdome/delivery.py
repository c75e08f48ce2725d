"""Delivery of product batches: plan POST/PATCH/skip, send concurrently, bisect rejections."""

from __future__ import annotations

import logging
import threading
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from connector_kit.deadletter import DeadLetters
from connector_kit.logs import kv

from target_glassdome.client import PAGE_LIMIT, GlassdomeClient, Product, Rejected

GLASSDOME_STATUSES = ("ACTIVE", "INACTIVE", "DISCONTINUED")
log = logging.getLogger("target_glassdome.delivery")


@dataclass
class Tally:
    """Counters for one stream's summary line (updated from the sender threads)."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + n)


def problem(record: dict[str, t.Any]) -> str | None:
    """Why Glassdome would refuse this record on its own, or None: checked before sending."""
    for name in ("id", "sku"):
        value = record.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"missing {name}"
    if record.get("status") not in GLASSDOME_STATUSES:
        return f"invalid status {record.get('status')!r}: allowed {', '.join(GLASSDOME_STATUSES)}"
    return None


class Delivery:
    """Everything one run sends to Glassdome, shared by the stream sinks."""

    def __init__(
        self,
        client: GlassdomeClient,
        dead_letters: DeadLetters,
        *,
        batch_size: int,
        max_concurrency: int,
    ) -> None:
        self.client = client
        self.dead_letters = dead_letters
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency
        self.pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="glassdome")
        self.known: dict[str, Product] = {}
        self.listing_offset = 0
        self.listing_read = 0
        self.listing_exhausted = False
        self.batch_written = False  # set after a drained batch; the target then emits STATE
        self._lock = threading.Lock()
        self.rejected = 0
        self.deferred: list[tuple[t.Callable[..., None], dict[str, t.Any]]] = []

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    # What Glassdome already holds -------------------------------------------------------

    def lookup(self, ids: t.Iterable[str]) -> dict[str, Product]:
        """What Glassdome holds for these ids, reading GET /products only as far as needed.

        The listing is newest-first, and the products a run touches are mostly the ones
        recent runs wrote, so an incremental run usually stops after a page or two; an id
        not found once the listing is exhausted is new. The listing is read once per run
        (include_deleted, so a soft-deleted product counts as existing). Our own writes
        move products to the top while we read; we remember those, so none is missed.
        """
        missing = [i for i in ids if i not in self.known]
        while missing and not self.listing_exhausted:
            self._read_listing_wave()
            missing = [i for i in missing if i not in self.known]
        return self.known

    def _read_listing_wave(self) -> None:
        offsets = [self.listing_offset + i * PAGE_LIMIT for i in range(self.max_concurrency)]
        self.listing_offset = offsets[-1] + PAGE_LIMIT
        for items in self.pool.map(self.client.page, offsets):
            for item in items:
                # An entry we already hold is as new or newer (our own write): keep it.
                product = Product(item["sku"], item["status"])
                self.known.setdefault(str(item["external_id"]), product)
            if len(items) < PAGE_LIMIT:
                self.listing_exhausted = True
        self.listing_read += len(offsets)
        if self.listing_exhausted:
            log.info("existing products %s", kv(count=len(self.known), pages=self.listing_read))

    # Sending ----------------------------------------------------------------------------

    def reject(self, record: dict[str, t.Any], reason: str, tally: Tally, **context: t.Any) -> None:
        with self._lock:
            self.dead_letters.add(record, reason, **context)
            self.rejected += 1
        tally.add("rejected")
        log.warning("rejected %s", kv(id=record.get("id"), reason=reason))

    def submit(self, records: list[dict[str, t.Any]], tally: Tally) -> list[Future[None]]:
        """Start sending one chunk (<= batch_size, distinct ids): PATCH changed, POST new."""
        existing = self.lookup(r["id"] for r in records)
        new: list[dict[str, t.Any]] = []
        changed: list[dict[str, t.Any]] = []
        for record in records:
            current = existing.get(record["id"])
            if current is None:
                new.append(record)
            elif current == Product(record["sku"], record["status"]):
                tally.add("unchanged")
            else:
                changed.append(record)
        futures = []
        if changed:
            futures.append(self.pool.submit(self._update, changed, tally))
        if new:
            futures.append(self.pool.submit(self._insert, new, tally))
        return futures

    def retry_deferred(self, tally: Tally) -> None:
        """Give sku clashes a second try once the batch is in: a sku may just have been freed
        by another product's PATCH that ran later (sku moves and swaps)."""
        while self.deferred:
            with self._lock:
                records, self.deferred = self.deferred, []
            for send, record in records:
                send([record], tally, final=True)

    @staticmethod
    def _body(records: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        return [{"id": r["id"], "sku": r["sku"], "status": r["status"]} for r in records]

    def _remember(self, records: list[dict[str, t.Any]]) -> None:
        for record in records:
            self.known[record["id"]] = Product(record["sku"], record["status"])

    def _insert(self, records: list[dict[str, t.Any]], tally: Tally, final: bool = False) -> None:
        try:
            self.client.insert(self._body(records))
        except Rejected as rejection:
            if rejection.duplicate_external_id and self._already_inserted(records):
                tally.add("inserted", len(records))
                self._remember(records)
                return
            self._bisect(self._insert, records, rejection, tally, final)
            return
        tally.add("inserted", len(records))
        self._remember(records)

    def _already_inserted(self, records: list[dict[str, t.Any]]) -> bool:
        """After a POST whose answer was lost (the write committed), the ids exist: PATCH them.

        The run saw none of these ids at its start, so they are ours; PATCH is idempotent.
        """
        try:
            _, skipped = self.client.update(self._body(records))
        except Rejected:
            return False
        return skipped == 0

    def _update(self, records: list[dict[str, t.Any]], tally: Tally, final: bool = False) -> None:
        try:
            self.client.update(self._body(records))
        except Rejected as rejection:
            self._bisect(self._update, records, rejection, tally, final)
            return
        tally.add("updated", len(records))
        self._remember(records)

    def _bisect(
        self,
        send: t.Callable[..., None],
        records: list[dict[str, t.Any]],
        rejection: Rejected,
        tally: Tally,
        final: bool,
    ) -> None:
        """One bad record fails its whole batch: split until the bad ones stand alone."""
        if len(records) == 1 and rejection.sku_clash and not final:
            with self._lock:
                self.deferred.append((send, records[0]))
            return
        if len(records) == 1:
            self.reject(
                records[0],
                rejection.error,
                tally,
                http_status=rejection.status,
                api_error=rejection.error,
            )
            return
        middle = len(records) // 2
        send(records[:middle], tally, final)
        send(records[middle:], tally, final)
