"""The two jobs through the real meltano CLI, against SecantusDB and real folders."""

from __future__ import annotations

import datetime as dt
import json
import os

import pytest

from tests.conftest import summaries
from tests.tracos.conftest import FIXTURES, Flow, as_json, load_fixture

pytestmark = pytest.mark.e2e


def _ok(result: object) -> None:
    assert result.returncode == 0, result.stderr[-4000:]  # type: ignore[attr-defined]


def test_inbound_then_outbound_then_nothing_moves(flow: Flow) -> None:
    flow.seed_tracos()
    flow.seed_erp_files()

    _ok(flow.meltano("run", "tracos-inbound", "tracos-outbound"))

    docs = flow.documents()
    assert sorted(docs) == [*range(1, 11), *range(101, 111)]
    for expected in load_fixture("expected_tracos.json"):
        stored = as_json(docs[expected["number"]])
        assert {k: stored[k] for k in expected} == expected
    assert all(
        doc["isSynced"] is True and isinstance(doc["syncedAt"], dt.datetime)
        for doc in docs.values()
    )
    for field in ("createdAt", "updatedAt"):  # BSON dates in UTC, not text
        assert docs[102][field].utcoffset() == dt.timedelta(0)
    assert docs[102]["createdAt"] == dt.datetime(
        2025, 1, 7, 8, 7, tzinfo=dt.UTC
    )  # file says 05:07-03:00

    expected_files = {
        p.name: json.loads(p.read_text()) for p in (FIXTURES / "expected_outbound").glob("*.json")
    }
    assert flow.outbound_files() == expected_files
    assert not (flow.outbound / ".written.jsonl").exists()  # acknowledged and consumed
    assert not list(flow.outbound.glob(".*.tmp"))

    before_files = {p.name: p.stat().st_mtime_ns for p in flow.outbound.iterdir()}
    before_docs = flow.documents()
    second = flow.meltano("run", "tracos-inbound", "tracos-outbound")
    _ok(second)
    read = {s["stage"]: s["read"] for s in summaries(second.stderr) if "read" in s}
    assert read == {"tap-client-json.work_orders": 0, "tap-tracos.workorders": 0}
    assert {p.name: p.stat().st_mtime_ns for p in flow.outbound.iterdir()} == before_files
    assert flow.documents() == before_docs


def test_edit_between_export_and_ack_is_exported_next_time(flow: Flow) -> None:
    flow.seed_tracos()
    flow.workorders.update_one(
        {"number": 5}, {"$unset": {"isSynced": ""}}
    )  # missing counts as unsynced
    flow.workorders.update_one(
        {"number": 6}, {"$set": {"isSynced": True}}
    )  # already synced: not exported
    _ok(flow.meltano("run", "tap-tracos", "tracos-to-erp", "target-client-json"))
    assert sorted(flow.outbound_files()) == sorted(f"{n}.json" for n in range(1, 11) if n != 6)
    journal = [
        json.loads(line) for line in (flow.outbound / ".written.jsonl").read_text().splitlines()
    ]
    assert sorted(entry["key"] for entry in journal) == [n for n in range(1, 11) if n != 6]

    edited_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    flow.workorders.update_one(
        {"number": 3}, {"$set": {"title": "Edited during export", "updatedAt": edited_at}}
    )
    ack = flow.meltano("run", "tracos-mark-synced:ack")
    _ok(ack)
    (acked,) = summaries(ack.stderr)
    assert (acked["exported"], acked["synced"]) == (9, 8)

    docs = flow.documents()
    assert docs[3]["isSynced"] is False
    assert "syncedAt" not in docs[3]
    assert all(docs[n]["isSynced"] is True for n in docs if n != 3)
    assert (
        flow.outbound_files()["3.json"]["summary"] == "Work order 3"
    )  # the file holds the old version

    _ok(flow.meltano("run", "tracos-outbound"))
    exported = flow.outbound_files()["3.json"]
    expected_update = edited_at.isoformat(timespec="milliseconds")
    assert exported["summary"] == "Edited during export"
    assert exported["lastUpdateDate"] == expected_update
    doc = flow.workorders.find_one({"number": 3})
    assert doc is not None
    assert doc["isSynced"] is True
    assert doc["syncedAt"] >= edited_at


def test_bad_inputs_are_quarantined_and_the_rest_loads(flow: Flow) -> None:
    flow.seed_erp_files()
    flow.write_erp("corrupt.json", '{"orderNo": 201, "isActive": tru')
    unreadable = flow.write_erp("unreadable.json", json.dumps({"orderNo": 202}))
    unreadable.chmod(0)
    missing = json.loads((FIXTURES / "erp_inbound" / "101.json").read_text())
    flow.write_erp(
        "no-creation-date.json",
        {k: v for k, v in {**missing, "orderNo": 203}.items() if k != "creationDate"},
    )
    flow.write_erp("bad-date.json", {**missing, "orderNo": 204, "lastUpdateDate": "31/12/2024"})
    flow.write_erp(
        "impossible-flags.json",
        {**missing, "orderNo": 205, "isDone": True, "isCanceled": True, "isPending": False},
    )
    good = {**missing, "orderNo": 206}
    flow.write_erp("dump.json", [good, {**missing, "orderNo": 207, "isPending": "yes"}])

    run = (
        flow.meltano_unprivileged("run", "tracos-inbound")
        if os.geteuid() == 0
        else flow.meltano("run", "tracos-inbound")
    )
    _ok(run)

    assert sorted(flow.documents()) == [*range(101, 111), 206]
    reasons = {
        p.name.removesuffix(".reason"): p.read_text().splitlines()[0]
        for p in flow.quarantine.glob("*.reason")
    }
    assert reasons.keys() == {
        "corrupt.json",
        "unreadable.json",
        "no-creation-date.json",
        "bad-date.json",
        "impossible-flags.json",
        "dump.1.json",
    }
    assert reasons["corrupt.json"].startswith("corrupt JSON")
    assert reasons["unreadable.json"] == "unreadable file: Permission denied"
    assert reasons["no-creation-date.json"] == "missing field creationDate"
    assert reasons["bad-date.json"] == "lastUpdateDate is not an ISO 8601 date: '31/12/2024'"
    assert (
        reasons["impossible-flags.json"]
        == "impossible status flags: isCanceled+isDone are all true"
    )
    assert reasons["dump.1.json"] == "isPending is not a boolean: 'yes' (record 1 of dump.json)"
    for name in reasons:
        assert (flow.quarantine / name).exists()
        assert not (flow.inbound / name).exists() or name == "dump.1.json"
    assert (flow.inbound / "dump.json").exists()  # its good record loaded, the file stays
    # one clear line per quarantined item, no stack trace
    assert sum("quarantined" in line and "reason=" in line for line in run.stderr.splitlines()) == 6
    assert "Traceback" not in run.stderr
