"""Symlinks, FIFOs, devices and oversize files in the inbound and landing folders.

Before: they were followed. A symlink to a private file echoed its first line into the log
and the ledger, a symlink to /dev/zero ate memory, a FIFO hung the tap. Now only regular
files are read, never through a link (even one pointing inside the folder), with O_NOFOLLOW
and O_NONBLOCK, under a size cap; everything else is set aside with its reason, unopened.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from pipelines.partner_feeds import FeedStatus, PartnerFeedsSettings, run
from tests.partner_feeds.conftest import Catalog, land
from tests.tracos.conftest import Flow, erp_order

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]  # a FIFO that hangs fails, not waits
SECRET = "root-password=hunter2-do-not-print"
GOOD_FEED = "sku,name,price,stock\nG-1,Good,1.00,1\n"


def private_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "private.csv"
    path.write_text(f"{SECRET},x,1,1\nsku,name,price,stock\n")
    path.chmod(0o600)
    return path


def plant_specials(folder: Path, private: Path, suffix: str) -> None:
    """A link to a private file, a link to /dev/zero, a link inside the folder, a FIFO."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"private{suffix}").symlink_to(private)
    (folder / f"zero{suffix}").symlink_to("/dev/zero")
    os.mkfifo(folder / f"pipe{suffix}")


def old(path: Path) -> Path:
    os.utime(path, (1, 1e9))
    return path


def test_tracos_reads_regular_files_only(flow: Flow) -> None:
    private = private_file(flow.root / "elsewhere")
    plant_specials(flow.inbound, private, ".json")
    flow.write_erp("1.json", erp_order(1))
    (flow.inbound / "same-folder.json").symlink_to(flow.inbound / "1.json")
    flow.write_erp("big.json", json.dumps([erp_order(n) for n in range(100, 140)]))
    env = {"TAP_CLIENT_JSON_MAX_FILE_BYTES": "4000"}

    first = flow.meltano("run", "tracos-inbound", **env)

    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(flow.documents()) == [1]
    reasons = {
        p.name.removesuffix(".reason"): p.read_text().splitlines()[0]
        for p in flow.quarantine.glob("*.reason")
    }
    assert reasons == {
        "private.json": "not a regular file: a symbolic link (links are not followed)",
        "zero.json": "not a regular file: a symbolic link (links are not followed)",
        "same-folder.json": "not a regular file: a symbolic link (links are not followed)",
        "pipe.json": "not a regular file: a FIFO (named pipe)",
        "big.json": reasons["big.json"],
    }
    assert reasons["big.json"].startswith("file of ")
    assert "over the size cap of 4000 bytes (setting max_file_bytes)" in reasons["big.json"]
    quarantined = "".join(p.read_text() for p in flow.quarantine.glob("*.reason"))
    assert SECRET not in first.stderr + quarantined
    assert private.read_text().startswith(SECRET)  # the link moved, its target untouched
    assert (flow.quarantine / "private.json").is_symlink()

    flow.write_erp("2.json", erp_order(2))
    second = flow.meltano("run", "tracos-inbound")  # next run: nothing left to trip on

    assert second.returncode == 0, second.stderr[-3000:]
    assert sorted(flow.documents()) == [1, 2]


def test_partner_feeds_read_regular_files_only(
    settings: PartnerFeedsSettings, catalog: Catalog, caplog: pytest.LogCaptureFixture
) -> None:
    capped = PartnerFeedsSettings(**{**settings.__dict__, "max_file_bytes": 2000})
    private = private_file(settings.landing_dir.parent / "elsewhere")
    plant_specials(settings.landing_dir / "p", private, ".csv")
    old(land(capped, "p", "good.csv", GOOD_FEED))
    land(capped, "p", "big.csv", GOOD_FEED + "B-1,Big,1.00,1\n" * 200)

    with caplog.at_level(logging.INFO):
        report = run(capped)

    assert sorted(catalog.products()) == [("p", "G-1")]
    outcomes = {o.feed_file: (o.status, o.error) for o in report.outcomes}
    link = "not a regular file: a symbolic link (links are not followed)"
    assert outcomes["good.csv"] == (FeedStatus.LOADED, None)
    assert outcomes["private.csv"] == (FeedStatus.FAILED, link)
    assert outcomes["zero.csv"] == (FeedStatus.FAILED, link)
    assert outcomes["pipe.csv"] == (FeedStatus.FAILED, "not a regular file: a FIFO (named pipe)")
    assert outcomes["big.csv"][0] == FeedStatus.FAILED
    assert "over the size cap of 2000 bytes" in (outcomes["big.csv"][1] or "")
    ledger = catalog.rows("SELECT feed_file, status, error FROM feed_imports")
    assert {row[0]: row[1] for row in ledger} == {
        "good.csv": "loaded",
        "private.csv": "failed",
        "zero.csv": "failed",
        "pipe.csv": "failed",
        "big.csv": "failed",
    }
    assert SECRET not in caplog.text + json.dumps(ledger)
    assert private.read_text().startswith(SECRET)
    assert sorted(p.name for p in (settings.landing_dir / "p").iterdir()) == []  # all settled

    land(capped, "p", "next.csv", "sku,name,price,stock\nN-1,Next,1.00,1\n")
    again = run(capped)  # the next run is not blocked

    assert again.exit_code == 0
    assert sorted(catalog.products()) == [("p", "G-1"), ("p", "N-1")]
