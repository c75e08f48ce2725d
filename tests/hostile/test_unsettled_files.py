"""Files caught mid-write: consumed only when settled; a quarantined file that changes is re-read.

Before: a file caught mid-write was quarantined as corrupt JSON, and its writer then
completed it inside the quarantine folder, so its orders were lost unless found by hand.
Now (connector_kit.files) only files whose size and mtime held still for `settle_seconds` are
read, temporary names (`.part`, `.tmp`, dot files) never are, and a quarantined (or failed,
archived) file whose size or mtime changed since is taken back and read again.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from pipelines.partner_feeds import FeedStatus, PartnerFeedsSettings, run
from tests.partner_feeds.conftest import Catalog, land
from tests.tracos.conftest import Flow, erp_order

pytestmark = pytest.mark.e2e
FEED_HEADER = "sku,name,price,stock\n"


def settle(path: Path, seconds_ago: float = 120) -> None:
    """As if the writer had finished `seconds_ago`."""
    then = time.time() - seconds_ago
    os.utime(path, (then, then))


def test_tracos_reads_only_settled_files_and_rereads_a_quarantined_file_that_changed(
    flow: Flow,
) -> None:
    env = {"TAP_CLIENT_JSON_SETTLE_SECONDS": "60"}
    settle(flow.write_erp("whole.json", erp_order(1)))
    flow.write_erp("fresh.json", erp_order(2))  # written just now: may still be growing
    settle(flow.write_erp("3.json.part", erp_order(3)))  # an upload under a temporary name
    settle(flow.write_erp(".4.json", erp_order(4)))  # a dot file
    settle(flow.write_erp("5.json.tmp", erp_order(5)))
    full = json.dumps([erp_order(6), erp_order(7)])
    half = flow.write_erp("half.json", full[: len(full) // 2])  # the writer stalled mid-file
    settle(half)

    first = flow.meltano("run", "tracos-inbound", **env)

    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(flow.documents()) == [1]
    assert "file not settled, left for the next run file=fresh.json" in first.stderr
    assert (flow.inbound / "fresh.json").exists()  # left in place, not quarantined
    assert sorted(p.name for p in flow.inbound.iterdir()) == [
        ".4.json",
        "3.json.part",
        "5.json.tmp",
        "fresh.json",
        "whole.json",
    ]
    reason = (flow.quarantine / "half.json.reason").read_text().splitlines()[0]
    assert reason.startswith("corrupt JSON: invalid JSON")

    # the writer finishes the quarantined file (its descriptor still open), the upload is
    # renamed into place, and the fresh file settles: the next run takes all of them
    with (flow.quarantine / "half.json").open("a") as fh:
        fh.write(full[len(full) // 2 :])
    settle(flow.quarantine / "half.json")
    (flow.inbound / "3.json.part").rename(flow.inbound / "3.json")
    settle(flow.inbound / "fresh.json")

    second = flow.meltano("run", "tracos-inbound", **env)

    assert second.returncode == 0, second.stderr[-3000:]
    assert "quarantined file changed, taken back file=half.json" in second.stderr
    assert sorted(flow.documents()) == [1, 2, 3, 6, 7]
    assert not (flow.quarantine / "half.json").exists()
    assert not (flow.quarantine / "half.json.reason").exists()


def test_partner_feeds_take_only_settled_files_and_retry_a_failed_feed_that_changed(
    settings: PartnerFeedsSettings, catalog: Catalog
) -> None:
    waiting = PartnerFeedsSettings(**{**settings.__dict__, "settle_seconds": 60.0})
    settle(land(waiting, "p", "whole.csv", FEED_HEADER + "W-1,Whole,1.00,1\n"))
    land(waiting, "p", "fresh.csv", FEED_HEADER + "F-1,Fresh,1.00,1\n")
    settle(land(waiting, "p", "upload.csv.part", FEED_HEADER + "U-1,Upload,1.00,1\n"))
    settle(land(waiting, "p", ".hidden.csv", FEED_HEADER + "H-1,Hidden,1.00,1\n"))
    full = json.dumps([{"sku": f"J-{i}", "name": "Json", "price": 1, "stock": i} for i in (1, 2)])
    settle(land(waiting, "q", "half.json", full[: len(full) // 2]))

    first = run(waiting)

    assert sorted(catalog.products()) == [("p", "W-1")]
    assert {o.feed_file: o.status for o in first.outcomes} == {
        "whole.csv": FeedStatus.LOADED,
        "half.json": FeedStatus.FAILED,
    }
    landing = sorted(p.name for p in (waiting.landing_dir / "p").iterdir())
    assert landing == [".hidden.csv", "fresh.csv", "upload.csv.part"]
    assert waiting.archive_dir is not None
    failed_dir = waiting.archive_dir / "failed" / "q"
    (archived,) = [p for p in failed_dir.iterdir() if p.suffix == ".json"]
    assert archived.with_name(archived.name + ".reason").read_text().startswith("invalid JSON")
    assert catalog.rows("SELECT feed_file, status FROM feed_imports ORDER BY feed_file") == [
        ("half.json", "failed"),
        ("whole.csv", "loaded"),
    ]

    # the writer completes the archived file; the upload is renamed; the fresh file settles
    with archived.open("a") as fh:
        fh.write(full[len(full) // 2 :])
    settle(archived)
    (waiting.landing_dir / "p" / "upload.csv.part").rename(waiting.landing_dir / "p" / "upload.csv")
    settle(waiting.landing_dir / "p" / "fresh.csv")

    second = run(waiting)

    assert second.exit_code == 0
    assert sorted(catalog.products()) == [
        ("p", "F-1"),
        ("p", "U-1"),
        ("p", "W-1"),
        ("q", "J-1"),
        ("q", "J-2"),
    ]
    assert [p.name for p in failed_dir.iterdir()] == []  # taken back, then archived as loaded
