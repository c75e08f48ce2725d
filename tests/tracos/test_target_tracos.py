"""target-tracos on its own: the newer-wins guard, isSynced on change, no ERP field names."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN, summaries
from tests.tracos.conftest import Flow

pytestmark = pytest.mark.e2e

SCHEMA = {
    "type": "SCHEMA",
    "stream": "workorders",
    "key_properties": ["number"],
    "schema": {
        "type": "object",
        "properties": {
            "number": {"type": "integer"},
            "title": {"type": ["string", "null"]},
            "updatedAt": {"type": "string", "format": "date-time"},
        },
    },
}


def run_target(
    flow: Flow, records: list[dict[str, Any]], **config: Any
) -> subprocess.CompletedProcess[str]:
    config_path = flow.root / "target-tracos.json"
    config_path.write_text(
        json.dumps(
            {"mongo_uri": flow.mongo_uri, "dead_letter_dir": str(flow.root / "dl"), **config}
        )
    )
    lines = [
        SCHEMA,
        *({"type": "RECORD", "stream": "workorders", "record": r} for r in records),
        {"type": "STATE", "value": {"bookmarks": {"done": len(records)}}},
    ]
    return subprocess.run(
        [str(VENV_BIN / "target-tracos"), "--config", str(config_path)],
        input="\n".join(json.dumps(line) for line in lines),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_newer_wins_and_marks_unsynced(flow: Flow) -> None:
    first = run_target(flow, [{"number": 7, "title": "v2", "updatedAt": "2025-01-02T00:00:00Z"}])
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout.splitlines()[-1]) == {
        "bookmarks": {"done": 1}
    }  # state after the write
    flow.workorders.update_many({}, {"$set": {"isSynced": True}})

    older = run_target(
        flow,
        [
            {"number": 7, "title": "v1 arriving late", "updatedAt": "2025-01-01T00:00:00Z"},
            {"number": 7, "title": "v2 again", "updatedAt": "2025-01-02T00:00:00+00:00"},
        ],
    )
    assert older.returncode == 0, older.stderr
    (done,) = summaries(older.stderr)
    assert (done["inserted"], done["updated"], done["unchanged"], done["rejected"]) == (0, 0, 2, 0)
    doc = flow.workorders.find_one({"number": 7}, {"_id": False})
    assert doc == {
        "number": 7,
        "title": "v2",
        "updatedAt": dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
        "isSynced": True,
    }

    newer = run_target(
        flow,
        [
            {"number": 7, "title": "v3", "updatedAt": "2025-01-03T01:00:00+01:00"},
            {"number": 8, "title": "new", "updatedAt": "2025-01-03T00:00:00Z"},
        ],
    )
    assert newer.returncode == 0, newer.stderr
    (done,) = summaries(newer.stderr)
    assert (done["inserted"], done["updated"], done["unchanged"]) == (1, 1, 0)
    doc = flow.workorders.find_one({"number": 7}, {"_id": False})
    assert doc == {
        "number": 7,
        "title": "v3",
        "updatedAt": dt.datetime(2025, 1, 3, tzinfo=dt.UTC),
        "isSynced": False,
    }
    assert flow.workorders.count_documents({}) == 2


def test_target_knows_no_erp_field_names() -> None:
    """A second client system is a new tap + mapper: target-tracos holds no ERP vocabulary."""
    source = "".join(
        p.read_text() for p in (PROJECT_ROOT / "targets" / "target-tracos").rglob("*.py")
    )
    erp_fields = [
        "orderNo",
        "isActive",
        "isCanceled",
        "isDone",
        "isOnHold",
        "isPending",
        "summary",
        "creationDate",
        "lastUpdateDate",
        "deletedDate",
    ]
    assert [word for word in erp_fields if f'"{word}"' in source or f"'{word}'" in source] == []
    assert [word for word in erp_fields if word != "summary" and word in source] == []


def test_a_stream_without_one_key_is_its_own_error_not_an_outage(flow: Flow) -> None:
    config_path = flow.root / "target-tracos.json"
    config_path.write_text(json.dumps({"mongo_uri": flow.mongo_uri}))
    schema = {**SCHEMA, "key_properties": []}
    result = subprocess.run(
        [str(VENV_BIN / "target-tracos"), "--config", str(config_path)],
        input=json.dumps(schema),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "stream cannot be loaded" in result.stderr
    assert "needs exactly one key property" in result.stderr
    assert "unavailable" not in result.stderr
    assert "Traceback" not in result.stderr


def test_the_sink_alone_needs_only_what_its_protocol_names(flow: Flow, tmp_path: Path) -> None:
    """UpsertSink built without a TargetTracos: any object with TracosHost's members will do
    (the SDK's logger, initialized_at, config, and the run's Mongo)."""
    import logging
    import time

    from connector_kit.mongo import Mongo
    from target_tracos.sinks import UpsertSink

    class Host:  # TracosHost, and nothing else
        logger = logging.getLogger("sink-alone")
        initialized_at = int(time.time() * 1000)
        config = {"mongo_uri": flow.mongo_uri, "dead_letter_dir": str(tmp_path / "dl")}
        tracos = Mongo(flow.mongo_uri)

    sink = UpsertSink(Host(), "workorders", SCHEMA["schema"], ["number"])
    records = [
        {"number": 1, "title": "a", "updatedAt": "2025-01-02T00:00:00+00:00"},
        {"number": 2, "title": "b", "updatedAt": "2025-01-02T00:00:00+00:00"},
    ]
    sink.process_batch({"records": records})
    stored = {d["number"]: d for d in flow.client.get_default_database().workorders.find()}
    assert {n: (d["title"], d["isSynced"]) for n, d in stored.items()} == {
        1: ("a", False),
        2: ("b", False),
    }
    Host.tracos.close()
