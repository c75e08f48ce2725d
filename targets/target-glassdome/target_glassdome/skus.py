"""Who gets each sku: decided before anything is sent, so the outcome never depends on timing.

Glassdome keeps a sku unique per company. When records of a run claim a sku (a new product,
or a product changing its sku), the rules are:

- The product that holds the sku in Glassdome keeps it, unless it moves to another sku in
  this run (a move or a swap frees it).
- Among the run's products claiming a free (or freed) sku, the first in input order wins.
  tap-mes sends products sorted by (updated_at, id), so that is the earliest `updated_at`,
  ties to the smallest id.
- Every loser is dead-lettered with a reason naming the sku and the winner.

A claim on a sku whose holder has not (yet) appeared in the run waits: the holder may still
move later in the run. It is decided when the holder's record comes, or lost at the end of
the input. Claims that wait on each other in a ring (a swap) are all granted together.

Pure bookkeeping, no I/O: the caller (Delivery) sends what is granted, in the order given.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field


@dataclass(eq=False, slots=True)
class Claim:
    """A record that wants `sku` for product `id`, which holds `current` now (None: new)."""

    id: str
    sku: str
    current: str | None
    item: t.Any = field(repr=False)  # what the caller sends or dead-letters


@dataclass(slots=True)
class Decision:
    """`send`: write now. `send_after`: write once the writes before it are in (its sku is
    freed by one of them). `lose`: dead-letter, `reason` names the sku and the winner.
    `swap`: `ring` members take each other's skus (sent in order by the caller)."""

    action: t.Literal["send", "send_after", "lose", "swap"]
    claim: Claim | None = None
    reason: str = ""
    ring: tuple[Claim, ...] = ()


class SkuClaims:
    """The run's view of sku ownership: Glassdome's holders, overlaid with granted claims."""

    def __init__(self) -> None:
        self.owner: dict[str, str] = {}  # sku -> product id holding it (or granted it)
        # Product ids the run has decided something for -> granted a new sku in this run.
        self.seen: dict[str, bool] = {}
        self.waiting: dict[str, list[Claim]] = {}  # sku -> claims waiting for it, input order
        self.waiting_claim: dict[str, Claim] = {}  # product id -> its waiting claim
        self.freed: dict[str, str] = {}  # sku -> product freeing it, until the caller's flush

    def hold(self, sku: str, product_id: str) -> None:
        """Glassdome says `product_id` holds `sku` (from the listing)."""
        self.owner.setdefault(sku, product_id)

    def written(self) -> None:
        """Every write decided so far is in Glassdome: freed skus are free now."""
        self.freed.clear()

    # Decisions ---------------------------------------------------------------------------

    def take_free(self, product_id: str, sku: str) -> bool:
        """The common case of `claim`, without its bookkeeping: a new product wants a sku
        nobody holds (so nobody waits for it) and no unwritten move freed. Granted: send."""
        if sku in self.owner or sku in self.freed or product_id in self.waiting_claim:
            return False
        self.owner[sku] = product_id
        self.seen[product_id] = True
        return True

    def claim(self, claim: Claim) -> list[Decision]:
        """A record wants a sku it does not hold."""
        out: list[Decision] = []
        self._forget_waiting(claim.id, out)
        self.seen.setdefault(claim.id, False)
        holder = self.owner.get(claim.sku)
        if holder is None or holder == claim.id:
            self._grant(claim, out)
        elif holder in self.seen and holder not in self.waiting_claim:
            self._lose(claim, holder, out)
        else:  # the holder may still move away later in the run
            self.waiting.setdefault(claim.sku, []).append(claim)
            self.waiting_claim[claim.id] = claim
            self._close_ring(claim, out)
        return out

    def keep(self, product_id: str, sku: str | None) -> list[Decision]:
        """The run's record for `product_id` keeps the sku it holds (unchanged, a status
        change, or a record refused before sending): claims waiting for that sku lose."""
        self.seen.setdefault(product_id, False)
        if not self.waiting_claim:  # nobody waits for anything: nothing to decide
            return []
        out: list[Decision] = []
        self._forget_waiting(product_id, out)
        if sku is not None:
            self._kept(product_id, sku, out)
        return out

    def end_of_input(self) -> list[Decision]:
        """No more records: a claim still waiting lost to the holder, which never moved."""
        out: list[Decision] = []
        while self.waiting_claim:
            claim = next(iter(self.waiting_claim.values()))
            self._drop(claim)
            self._lose(claim, self.owner[claim.sku], out)
        return out

    # Internals ---------------------------------------------------------------------------

    def _grant(self, claim: Claim, out: list[Decision]) -> None:
        self.owner[claim.sku] = claim.id
        self.seen[claim.id] = True
        out.append(Decision("send_after" if claim.sku in self.freed else "send", claim))
        old = claim.current
        if old is not None and self.owner.get(old) == claim.id:
            del self.owner[old]
            self.freed[old] = claim.id
            self._hand_over(old, out)

    def _hand_over(self, sku: str, out: list[Decision]) -> None:
        """A freed sku goes to the first claim waiting for it; the others lose to that one."""
        queue = self.waiting.pop(sku, [])
        for claim in queue:
            del self.waiting_claim[claim.id]
        if queue:
            self._grant(queue[0], out)
            for claim in queue[1:]:
                self._lose(claim, queue[0].id, out)

    def _lose(self, claim: Claim, winner: str, out: list[Decision]) -> None:
        how = "claimed earlier in this run by" if self.seen.get(winner) else "held by"
        out.append(Decision("lose", claim, f"sku {claim.sku} {how} {winner}"))
        if claim.current is not None:
            self._kept(claim.id, claim.current, out)

    def _kept(self, product_id: str, sku: str, out: list[Decision]) -> None:
        if self.owner.get(sku) == product_id:
            for claim in self.waiting.pop(sku, []):
                del self.waiting_claim[claim.id]
                self._lose(claim, product_id, out)

    def _drop(self, claim: Claim) -> None:
        del self.waiting_claim[claim.id]
        queue = self.waiting[claim.sku]
        queue.remove(claim)
        if not queue:
            del self.waiting[claim.sku]

    def _forget_waiting(self, product_id: str, out: list[Decision]) -> None:
        """A newer record for the product replaces its waiting claim."""
        old = self.waiting_claim.get(product_id)
        if old is None:
            return
        was_first = self.waiting[old.sku][0] is old
        self._drop(old)
        if was_first and old.sku in self.waiting:
            self._close_ring(self.waiting[old.sku][0], out)

    def _close_ring(self, start: Claim, out: list[Decision]) -> None:
        """Grant a ring of waiting claims (A wants B's sku, B wants A's: a swap) at once.

        Only first-in-line claims count: a claim behind another for the same sku would
        lose that sku anyway.
        """
        ring = [start]
        claim = start
        while True:
            if self.waiting[claim.sku][0] is not claim:
                return
            holder = self.owner[claim.sku]
            if holder == start.id:
                break
            claim = self.waiting_claim.get(holder)  # type: ignore[assignment]
            if claim is None or claim in ring:
                return
            ring.append(claim)
        losers: list[tuple[Claim, str]] = []
        for member in ring:
            queue = self.waiting.pop(member.sku)
            losers.extend((other, member.id) for other in queue[1:])
            for other in queue:
                del self.waiting_claim[other.id]
        for member in ring:
            self.owner[member.sku] = member.id
            self.seen[member.id] = True
        out.append(Decision("swap", ring=tuple(ring)))
        for claim, winner in losers:
            self._lose(claim, winner, out)
