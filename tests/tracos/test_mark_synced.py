"""tracos-mark-synced alone: restart-safe journal, only exported versions acknowledged."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest

from tests.conftest import VENV_BIN, summaries
from tests.tracos.conftest import Flow

pytestmark = pytest.mark.e2e


def test_a_journal_left_by_a_crashed_ack_is_finished_and_torn_lines_skipped(flow: Flow) -> None:
    flow.seed_tracos()
    docs = flow.documents()
    version = {n: docs[n]["updatedAt"].isoformat(timespec="milliseconds") for n in docs}
    journal = flow.outbound / ".written.jsonl"
    # a crash after taking the journal aside, and a current journal whose last line was torn
    (flow.outbound / ".written.jsonl.acking-1").write_text(
        "".join(json.dumps({"key": n, "version": version[n]}) + "\n" for n in (1, 2))
    )
    journal.write_text(
        json.dumps({"key": 3, "version": version[3]})
        + "\n"
        + json.dumps({"key": 4, "version": "2020-01-01T00:00:00.000+00:00"})
        + "\n"  # not the stored version
        + '{"key": 5, "vers'
    )

    result = subprocess.run(
        [
            str(VENV_BIN / "tracos-mark-synced"),
            "ack",
            "--mongo-uri",
            flow.mongo_uri,
            "--journal",
            str(journal),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (ack,) = summaries(result.stderr)
    assert (ack["exported"], ack["synced"]) == (4, 3)
    assert "torn or corrupt line" in result.stderr
    synced = {d["number"] for d in flow.workorders.find({"isSynced": True})}
    assert synced == {1, 2, 3}
    assert all(
        isinstance(d["syncedAt"], dt.datetime) for d in flow.workorders.find({"isSynced": True})
    )
    assert [p.name for p in flow.outbound.iterdir()] == []  # both journals consumed


def test_mongo_down_keeps_the_journal(flow: Flow) -> None:
    journal = flow.outbound / ".written.jsonl"
    journal.write_text(json.dumps({"key": 1, "version": "2025-01-01T00:00:00.000+00:00"}) + "\n")
    result = subprocess.run(
        [
            str(VENV_BIN / "tracos-mark-synced"),
            "--mongo-uri",
            "mongodb://127.0.0.1:9/x",
            "--journal",
            str(journal),
            "--retry-attempts",
            "1",
            "--server-selection-timeout-ms",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "tracos unavailable, journal kept for the next run" in result.stderr
    assert len(list(flow.outbound.glob(".written.jsonl*"))) == 1  # taken aside, still there
