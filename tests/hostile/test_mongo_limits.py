"""TracOS inbound: values Mongo cannot hold are rejected one by one, never the batch.

Before: an orderNo of 2^63 passed validation, then target-tracos died with
`OverflowError: MongoDB can only handle up to 8-byte ints`; none of the batch was written and
every rerun failed the same way. The rule now is what BSON holds (connector_kit.mongo
.bson_problem): 64-bit integers, UTF-8 strings, documents up to the server's limit, and
dates whose UTC instant exists.
"""

from __future__ import annotations

import json

import pytest

from tests.tracos.conftest import Flow, erp_order

pytestmark = pytest.mark.e2e


def dead_letters(flow: Flow) -> dict[int, str]:
    path = flow.root / "dead-letter" / "target-tracos.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return {entry["record"]["number"]: entry["reason"] for entry in lines}


def test_values_mongo_cannot_hold_are_rejected_and_the_rest_lands(flow: Flow) -> None:
    flow.write_erp(
        "batch.json",
        json.dumps(
            [
                erp_order(1),
                erp_order(2**63),  # one past int64
                erp_order(3, lastUpdateDate="9999-12-31T23:00:00-03:00"),  # past year 9999 in UTC
                erp_order(4, summary="x" * (16 * 1024 * 1024 + 1)),  # over 16 MiB
                erp_order(6),
            ]
        ),
    )
    flow.write_erp("alone.json", erp_order(10**20))  # a single-object file, far out of range

    first = flow.meltano("run", "tracos-inbound")

    assert first.returncode == 0, first.stderr[-3000:]
    assert "Traceback" not in first.stderr
    assert sorted(flow.documents()) == [1, 6]  # the valid orders of the same batch are written
    rejected = dead_letters(flow)
    assert sorted(rejected) == [4, 2**63, 10**20]
    assert "outside what MongoDB holds" in rejected[2**63]
    assert "outside what MongoDB holds" in rejected[10**20]
    assert "over MongoDB's limit of 16777216 bytes" in rejected[4]
    reason = (flow.quarantine / "batch.2.json.reason").read_text().splitlines()[0]
    assert reason.startswith("lastUpdateDate is out of the storable date range")
    assert "record rejected stream=workorders key=9223372036854775808" in first.stderr

    # the next run is not blocked: the bad file is settled (bookmarked), a new order loads
    flow.write_erp("next.json", erp_order(7))
    second = flow.meltano("run", "tracos-inbound")

    assert second.returncode == 0, second.stderr[-3000:]
    assert sorted(flow.documents()) == [1, 6, 7]
    assert sorted(dead_letters(flow)) == [4, 2**63, 10**20]  # not sent again
