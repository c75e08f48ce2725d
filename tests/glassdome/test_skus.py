"""Unit tests of the decisions that do not depend on timing: who gets a sku, and what an
answer from Glassdome means (by its status, whatever the message says)."""

from __future__ import annotations

import pytest
import requests
from target_glassdome.client import GlassdomeClient, Rejected, Unclear, classify
from target_glassdome.skus import Claim, Decision, SkuClaims


def claims(holders: dict[str, str]) -> SkuClaims:
    """SkuClaims over a Glassdome holding {sku: product id}."""
    skus = SkuClaims()
    for sku, product_id in holders.items():
        skus.hold(sku, product_id)
    return skus


def claim(product_id: str, sku: str, current: str | None = None) -> Claim:
    return Claim(product_id, sku, current, item=product_id)


def summary(decisions: list[Decision]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for d in decisions:
        if d.action == "swap":
            out.append(("swap", *(c.id for c in d.ring)))
        else:
            assert d.claim is not None
            out.append((d.action, d.claim.id, d.reason))
    return out


def test_the_first_claim_on_a_free_sku_wins_and_the_later_ones_name_it() -> None:
    skus = claims({})
    assert summary(skus.claim(claim("A", "S"))) == [("send", "A", "")]
    assert summary(skus.claim(claim("B", "S"))) == [
        ("lose", "B", "sku S claimed earlier in this run by A")
    ]


def test_the_holder_keeps_its_sku_when_it_stays_in_the_run() -> None:
    skus = claims({"S": "H"})
    assert summary(skus.claim(claim("A", "S"))) == []  # H may still move: A waits
    assert skus.waiting_claim
    assert summary(skus.keep("H", "S")) == [("lose", "A", "sku S held by H")]
    assert summary(skus.claim(claim("B", "S"))) == [("lose", "B", "sku S held by H")]
    assert not skus.waiting_claim


def test_a_holder_that_never_comes_keeps_its_sku_at_the_end_of_input() -> None:
    skus = claims({"S": "H"})
    skus.claim(claim("A", "S"))
    skus.claim(claim("B", "S"))
    assert summary(skus.end_of_input()) == [
        ("lose", "A", "sku S held by H"),
        ("lose", "B", "sku S held by H"),
    ]


def test_a_sku_freed_later_in_the_run_goes_to_the_first_claim_waiting_for_it() -> None:
    skus = claims({"S": "H"})
    skus.claim(claim("A", "S"))
    skus.claim(claim("B", "S"))
    # H moves away (S -> T): A is granted S after H's write; B loses to A.
    assert summary(skus.claim(claim("H", "T", current="S"))) == [
        ("send", "H", ""),
        ("send_after", "A", ""),
        ("lose", "B", "sku S claimed earlier in this run by A"),
    ]
    assert skus.freed == {"S": "H"}
    skus.written()
    assert summary(skus.claim(claim("C", "S"))) == [
        ("lose", "C", "sku S claimed earlier in this run by A")
    ]


def test_a_move_frees_a_sku_for_a_later_record_which_waits_for_the_write() -> None:
    skus = claims({"S": "H"})
    assert summary(skus.claim(claim("H", "T", current="S"))) == [("send", "H", "")]
    assert summary(skus.claim(claim("A", "S"))) == [("send_after", "A", "")]


def test_a_swap_is_granted_as_a_ring_in_either_order() -> None:
    skus = claims({"X": "A", "Y": "B"})
    assert summary(skus.claim(claim("A", "Y", current="X"))) == []
    assert summary(skus.claim(claim("B", "X", current="Y"))) == [("swap", "B", "A")]
    assert skus.owner == {"X": "B", "Y": "A"}
    assert not skus.waiting_claim
    # A three-way ring, with an outsider queued behind one member.
    skus = claims({"X": "A", "Y": "B", "Z": "C"})
    skus.claim(claim("A", "Y", current="X"))
    skus.claim(claim("B", "Z", current="Y"))
    assert summary(skus.claim(claim("D", "X"))) == []
    assert summary(skus.claim(claim("C", "X", current="Z"))) == []  # D is first in line for X
    assert sorted(summary(skus.end_of_input())) == [  # no ring: nobody moves
        ("lose", "A", "sku Y held by B"),
        ("lose", "B", "sku Z held by C"),
        ("lose", "C", "sku X held by A"),
        ("lose", "D", "sku X held by A"),
    ]


def test_a_loser_keeps_its_own_sku_so_claims_waiting_for_it_lose_too() -> None:
    skus = claims({"S": "H", "T": "A"})
    skus.claim(claim("B", "T"))  # waits for A's sku
    skus.keep("H", "S")
    assert summary(skus.claim(claim("A", "S", current="T"))) == [
        ("lose", "A", "sku S held by H"),
        ("lose", "B", "sku T held by A"),
    ]


def test_a_newer_record_replaces_a_waiting_claim() -> None:
    skus = claims({"S": "H"})
    skus.claim(claim("A", "S"))
    assert summary(skus.claim(claim("A", "U"))) == [("send", "A", "")]
    assert summary(skus.end_of_input()) == []


# What an answer means: the status decides, never the wording. -------------------------


def _response(status: int, body: str, content_type: str = "application/json") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    response.request = requests.Request("POST", "http://glassdome.test/ingest/products").prepare()
    response.url = response.request.url or ""
    return response


@pytest.mark.parametrize(
    ("body", "content_type", "hint"),
    [
        # The names a deployment built from Glassdome's migrations gives its indexes ...
        (
            '{"error": "duplicate key value violates unique constraint'
            ' \\"ux_products_company_sku\\""}',
            "application/json",
            "the sku is taken",
        ),
        (
            '{"error": "duplicate key value violates unique constraint'
            ' \\"ux_products_company_external\\""}',
            "application/json",
            "the id exists",
        ),
        # ... another naming of the same rules ...
        (
            '{"error": "UNIQUE constraint failed: products.company_id, products.external_id"}',
            "application/json",
            "the id exists",
        ),
        (
            '{"error": "unique_violation on products_sku_uq"}',
            "application/json",
            "the sku is taken",
        ),
        # ... and a proxy's plain-text page.
        ("Internal Server Error", "text/plain", None),
    ],
)
def test_a_500_is_unclear_whatever_its_body_says(body: str, content_type: str, hint: str) -> None:
    response = _response(500, body, content_type)
    assert classify(500) == "unclear"
    with pytest.raises(Unclear) as unclear:
        GlassdomeClient._judge(response)
    # Once retries are spent on a write, it is a refusal; the wording only adds a hint.
    refused = Rejected(500, str(unclear.value.args[0]))
    expected = f"refused by Glassdome (HTTP 500{f', probably {hint}' if hint else ''})"
    assert refused.reason == expected


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        *[(201, "ok"), (200, "ok"), (429, "transient"), (502, "transient")],
        *[(503, "transient"), (504, "transient"), (400, "refused"), (422, "refused")],
        *[(401, "denied"), (403, "denied")],
    ],
)
def test_statuses_are_classified_by_the_contract(status: int, kind: str) -> None:
    assert classify(status) == kind
