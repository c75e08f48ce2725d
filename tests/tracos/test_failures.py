"""Mongo unavailable at start, Mongo restarted mid-run: clean failure or recovery, never loss."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import pymongo
import pytest

from sandbox.settings import free_port
from tests.conftest import VENV_BIN
from tests.tracos.conftest import Flow, OwnMongo, erp_order, make_flow

pytestmark = pytest.mark.e2e

FAST_FAIL = {
    "TARGET_TRACOS_RETRY_ATTEMPTS": "2",
    "TARGET_TRACOS_SERVER_SELECTION_TIMEOUT_MS": "300",
    "TAP_TRACOS_RETRY_ATTEMPTS": "2",
    "TAP_TRACOS_SERVER_SELECTION_TIMEOUT_MS": "300",
    "TRACOS_MARK_SYNCED_RETRY_ATTEMPTS": "2",
}


def test_mongo_unavailable_at_start(flow: Flow) -> None:
    flow.seed_erp_files()
    down = f"mongodb://127.0.0.1:{free_port()}/tractian"
    before = sorted(p.name for p in flow.inbound.iterdir())

    inbound = flow.meltano("run", "tracos-inbound", MONGO_URI=down, **FAST_FAIL)
    assert inbound.returncode != 0
    errors = [line for line in inbound.stderr.splitlines() if "tracos unavailable" in line]
    assert len(errors) == 1, inbound.stderr[-3000:]
    assert "Connection refused" in errors[0]
    assert "Traceback" not in inbound.stderr

    outbound = flow.meltano("run", "tracos-outbound", MONGO_URI=down, **FAST_FAIL)
    assert outbound.returncode != 0
    assert len([line for line in outbound.stderr.splitlines() if "tracos unavailable" in line]) == 1
    assert "Traceback" not in outbound.stderr

    state = flow.meltano("state", "list")
    assert state.returncode == 0, state.stderr
    assert "prod:" not in state.stdout  # no state saved for either job
    assert (
        sorted(p.name for p in flow.inbound.iterdir()) == before
    )  # nothing read away or quarantined
    assert not flow.quarantine.exists()
    assert list(flow.outbound.iterdir()) == []


def write_dump(folder: Path, first: int, count: int) -> dict[int, str]:
    orders = [
        erp_order(n, lastUpdateDate=f"2025-02-{1 + n % 27:02d}T10:00:00Z")
        for n in range(first, first + count)
    ]
    (folder / f"dump-{first}.json").write_text(json.dumps(orders))
    return {o["orderNo"]: o["lastUpdateDate"] for o in orders}


def test_mongo_restarted_mid_run(
    own_mongo: OwnMongo, meltano_env: dict[str, str], tmp_path: Path
) -> None:
    flow = make_flow(meltano_env, tmp_path, own_mongo.cfg.port("mongo"))
    expected: dict[int, str] = {}
    for first in range(1, 3001, 500):
        expected |= write_dump(flow.inbound, first, 500)
    env = {**flow.env, "TARGET_TRACOS_BATCH_SIZE": "200", "TARGET_TRACOS_RETRY_MAX_WAIT_S": "2"}

    run = subprocess.Popen(
        [str(VENV_BIN / "meltano"), "run", "tracos-inbound"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    noticed = threading.Event()  # the run retried against the stopped Mongo, or ended

    def read_stderr() -> None:
        assert run.stderr is not None
        for line in run.stderr:
            lines.append(line)
            if "retry " in line or "tracos unavailable" in line:
                noticed.set()
        noticed.set()

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    deadline = time.monotonic() + 90
    while (
        flow.workorders.count_documents({}) == 0
        and time.monotonic() < deadline
        and run.poll() is None
    ):
        time.sleep(0.05)
    assert flow.workorders.count_documents({}) > 0, "the run wrote nothing in 90 s"
    assert run.poll() is None, "the run ended before Mongo could be restarted"
    own_mongo.stop()
    # Mongo stays down until the run has met the outage (a retry), however fast it is.
    assert noticed.wait(timeout=120), "the run neither retried nor ended with Mongo down"
    own_mongo.start()
    run.wait(timeout=180)
    reader.join(timeout=30)
    stderr = "".join(lines)
    if run.returncode != 0:  # failing is allowed, but cleanly (recovering is the usual outcome)
        assert "tracos unavailable" in stderr
        assert "Traceback" not in stderr

    rerun = flow.meltano("run", "tracos-inbound")
    assert rerun.returncode == 0, rerun.stderr[-3000:]

    flow.client = pymongo.MongoClient(flow.mongo_uri, tz_aware=True)
    stored = {
        d["number"]: d["updatedAt"].isoformat().replace("+00:00", "Z")
        for d in flow.workorders.find()
    }
    assert flow.workorders.count_documents({}) == len(expected)  # no duplicate
    assert stored == expected  # no loss
    flow.client.close()
