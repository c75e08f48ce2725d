"""Delivery of product batches: plan POST/PATCH/skip and who gets each sku, send
concurrently, bisect refusals."""

from __future__ import annotations

import logging
import threading
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from connector_kit.contracts import GLASSDOME_STATUSES
from connector_kit.deadletter import DeadLetters, send_in_halves
from connector_kit.logs import kv

from target_glassdome.client import PAGE_LIMIT, GlassdomeClient, Product, Rejected
from target_glassdome.skus import Claim, Decision, SkuClaims

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
    """Everything one run sends to Glassdome, shared by the stream sinks.

    Threads: the reading thread decides (lookup, sku claims, submit, flush); the sender
    threads only write and record what was written (`known`, the tallies, dead letters).
    """

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
        self.skus = SkuClaims()
        self.listing_offset = 0
        self.listing_read = 0
        self.listing_exhausted = False
        self.batch_written = False  # set after a drained batch; the target then emits STATE
        self._lock = threading.Lock()
        self.rejected = 0
        # Granted claims whose sku another write of this drain frees: sent at the drain's end.
        self.after: list[tuple[dict[str, t.Any], Tally]] = []
        self.swaps: list[tuple[Claim, ...]] = []

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def is_held(self, product_id: str) -> bool:
        """Decided but not sent yet (sent by `flush` at the end of the drain)."""
        if not (self.after or self.swaps):
            return False
        return any(r["id"] == product_id for r, _ in self.after) or any(
            c.id == product_id for ring in self.swaps for c in ring
        )

    @property
    def undecided(self) -> bool:
        """Claims wait for a sku whose holder may still move: no STATE past them yet."""
        return bool(self.skus.waiting_claim)

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

    def lookup_all(self) -> None:
        """Read the rest of the listing: who holds every sku (needed before any sku claim).

        Until then the run writes no sku change, so the listing's skus stay true.
        """
        while not self.listing_exhausted:
            self._read_listing_wave()

    def _read_listing_wave(self) -> None:
        offsets = [self.listing_offset + i * PAGE_LIMIT for i in range(self.max_concurrency)]
        self.listing_offset = offsets[-1] + PAGE_LIMIT
        for items in self.pool.map(self.client.page, offsets):
            for item in items:
                # An entry we already hold is as new or newer (our own write): keep it.
                external_id = str(item["external_id"])
                product = self.known.setdefault(external_id, Product(item["sku"], item["status"]))
                self.skus.hold(product.sku, external_id)
            if len(items) < PAGE_LIMIT:
                self.listing_exhausted = True
        self.listing_read += len(offsets)
        if self.listing_exhausted:
            log.info("existing products %s", kv(count=len(self.known), pages=self.listing_read))

    # Deciding ---------------------------------------------------------------------------

    def reject(self, record: dict[str, t.Any], reason: str, tally: Tally, **context: t.Any) -> None:
        with self._lock:
            self.dead_letters.add(record, reason, **context)
            self.rejected += 1
        tally.add("rejected")
        log.warning("rejected %s", kv(id=record.get("id"), reason=reason))

    def refused_before_sending(
        self, record: dict[str, t.Any], reason: str, tally: Tally, **context: t.Any
    ) -> None:
        """A record Glassdome would refuse: dead-lettered; its product keeps its sku."""
        self.reject(record, reason, tally, **context)
        product_id = record.get("id")
        if isinstance(product_id, str) and product_id.strip():
            product = self.known.get(product_id)
            self._apply(self.skus.keep(product_id, product.sku if product else None), [])

    def submit(self, records: list[dict[str, t.Any]], tally: Tally) -> list[Future[None]]:
        """Decide one chunk (<= batch_size, distinct ids) and start sending it: PATCH
        changed, POST new, nothing for unchanged; sku claims as SkuClaims decides."""
        existing = self.lookup(r["id"] for r in records)
        if not self.listing_exhausted and any(
            existing[r["id"]].sku != r["sku"] for r in records if r["id"] in existing
        ):
            self.lookup_all()
        now: list[dict[str, t.Any]] = []
        for record in records:
            product_id, sku = record["id"], record["sku"]
            current = existing.get(product_id)
            if current is not None and current.sku == sku:
                decisions = self.skus.keep(product_id, sku)
                if current.status == record["status"]:
                    tally.add("unchanged")
                else:
                    now.append(record)
            elif current is None and self.skus.take_free(product_id, sku):
                now.append(record)
                continue
            else:
                claim = Claim(product_id, sku, current.sku if current else None, (record, tally))
                decisions = self.skus.claim(claim)
            if decisions:
                self._apply(decisions, now)
        return self._send(now, tally)

    def _apply(self, decisions: list[Decision], now: list[dict[str, t.Any]]) -> None:
        for decision in decisions:
            claim = decision.claim
            if decision.action == "swap":
                self.swaps.append(decision.ring)
                continue
            assert claim is not None
            record, tally = claim.item
            if decision.action == "send":
                now.append(record)
            elif decision.action == "send_after":
                self.after.append((record, tally))
            else:
                self.reject(record, decision.reason, tally)

    def end_of_input(self) -> None:
        """Claims still waiting lost to a holder that never moved."""
        self._apply(self.skus.end_of_input(), [])

    # Sending ----------------------------------------------------------------------------

    def _send(self, records: list[dict[str, t.Any]], tally: Tally) -> list[Future[None]]:
        new = [r for r in records if r["id"] not in self.known]
        changed = [r for r in records if r["id"] in self.known]
        futures = []
        for i in range(0, len(changed), self.batch_size):
            futures.append(self.pool.submit(self._update, changed[i : i + self.batch_size], tally))
        for i in range(0, len(new), self.batch_size):
            futures.append(self.pool.submit(self._insert, new[i : i + self.batch_size], tally))
        return futures

    def flush(self) -> None:
        """At the end of a drain, once every chunk is written: the claims that waited for a
        sku freed by those writes, in waves (a chain of moves), then the swaps."""
        while self.after:
            pending = {r["id"] for r, _ in self.after}
            ready = [
                (r, tl) for r, tl in self.after if self.skus.freed.get(r["sku"]) not in pending
            ]
            if not ready:  # cannot happen: frees that wait on each other are a swap
                raise AssertionError("sku moves wait on each other")
            sent = {r["id"] for r, _ in ready}
            self.after = [(r, tl) for r, tl in self.after if r["id"] not in sent]
            by_tally: dict[int, tuple[Tally, list[dict[str, t.Any]]]] = {}
            for record, tally in ready:
                by_tally.setdefault(id(tally), (tally, []))[1].append(record)
            for tally, records in by_tally.values():
                for future in self._send(records, tally):
                    future.result()
        for ring in self.swaps:
            self._swap(ring)
        self.swaps = []
        self.skus.written()

    def _swap(self, ring: tuple[Claim, ...]) -> None:
        """Each member takes the sku the next one holds (the last takes the first's): the
        first steps aside to a temporary sku, the others move in reverse, then the first."""
        first = ring[0]
        parked = f"{first.current}~swap~{first.id}"
        while parked in self.skus.owner:
            parked += "~"
        self._update([{"id": first.id, "sku": parked}], None)
        for claim in (*reversed(ring[1:]), first):
            record, tally = claim.item
            self._update([record], tally)

    @staticmethod
    def _body(records: list[dict[str, t.Any]]) -> list[dict[str, t.Any]]:
        return [{"id": r["id"], "sku": r["sku"], "status": r["status"]} for r in records]

    def _remember(self, records: list[dict[str, t.Any]]) -> None:
        for record in records:
            self.known[record["id"]] = Product(record["sku"], record["status"])

    def _insert(self, records: list[dict[str, t.Any]], tally: Tally) -> None:
        def send(batch: t.Sequence[dict[str, t.Any]]) -> None:
            self.client.insert(self._body(list(batch)))
            tally.add("inserted", len(batch))
            self._remember(list(batch))

        send_in_halves(records, send, Rejected, lambda r, refusal: self._refused(r, refusal, tally))

    def _update(self, records: list[dict[str, t.Any]], tally: Tally | None) -> None:
        """PATCH; with no tally, a step of a swap that is not counted."""
        if tally is None:
            try:
                self.client.update(records)
            except Rejected as rejection:
                raise RuntimeError(f"a swap could not start: {rejection}") from rejection
            return
        counted = tally

        def send(batch: t.Sequence[dict[str, t.Any]]) -> None:
            self.client.update(self._body(list(batch)))
            counted.add("updated", len(batch))
            self._remember(list(batch))

        send_in_halves(
            records, send, Rejected, lambda r, refusal: self._refused(r, refusal, counted)
        )

    def _refused(self, record: dict[str, t.Any], rejection: Rejected, tally: Tally) -> None:
        self.reject(
            record, rejection.reason, tally, http_status=rejection.status, api_error=rejection.error
        )
