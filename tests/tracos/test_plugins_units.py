"""tap-client-json's ERP rules and target-client-json's file naming and settings, without
servers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tap_client_json.validation import InvalidWorkOrder, validate
from target_client_json.files import (
    UnsafeKeyError,
    append_journal,
    file_name,
    folder_name,
    to_json,
    write_atomic,
)
from target_client_json.sinks import JsonFileSink
from target_client_json.target import TargetClientJson

from sandbox import tracos
from tests.tracos.conftest import FIXTURES, erp_order


def test_fixtures_are_the_sandbox_seed() -> None:
    fixture = {
        int(p.stem): json.loads(p.read_text()) for p in (FIXTURES / "erp_inbound").glob("*.json")
    }
    assert fixture == {doc["orderNo"]: doc for doc in tracos.erp_work_orders()}


@pytest.mark.parametrize(
    "path", sorted((FIXTURES / "erp_inbound").glob("*.json")), ids=lambda p: p.name
)
def test_sample_files_are_valid(path: Path) -> None:
    validate(json.loads(path.read_text()))


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ([1, 2], "a work order must be a JSON object, got list"),
        ({k: v for k, v in erp_order(1).items() if k != "orderNo"}, "missing field orderNo"),
        (erp_order(True), "orderNo is not a non-negative integer: True"),
        (erp_order(-1), "orderNo is not a non-negative integer: -1"),
        (erp_order("7"), "orderNo is not a non-negative integer: '7'"),
        ({k: v for k, v in erp_order(1).items() if k != "isDone"}, "missing field isDone"),
        (erp_order(1, isOnHold=None), "isOnHold is not a boolean: None"),
        (erp_order(1, isSynced="no"), "isSynced is not a boolean: 'no'"),
        (erp_order(1, summary=5), "summary is not a string: 5"),
        (
            {k: v for k, v in erp_order(1).items() if k != "creationDate"},
            "missing field creationDate",
        ),
        (erp_order(1, lastUpdateDate=None), "missing field lastUpdateDate"),
        (
            erp_order(1, creationDate="31/12/2024"),
            "creationDate is not an ISO 8601 date: '31/12/2024'",
        ),
        (erp_order(1, deletedDate="soon"), "deletedDate is not an ISO 8601 date: 'soon'"),
        (
            erp_order(1, lastUpdateDate="9999-12-31T23:00:00-03:00"),
            "lastUpdateDate is out of the storable date range: '9999-12-31T23:00:00-03:00'",
        ),
        (erp_order(1, creationDate=20250101), "creationDate is not a string: 20250101"),
        (erp_order(1, isDone=True), "impossible status flags: isDone+isPending are all true"),
        (erp_order(1, isPending=False), "no status flag is true"),
    ],
)
def test_invalid_work_orders_name_their_problem(doc: Any, reason: str) -> None:
    with pytest.raises(InvalidWorkOrder) as raised:
        validate(doc)
    assert str(raised.value) == reason


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"isActive": True},
        {"isActive": True, "isPending": False},
        {"deletedDate": None},
        {"isSynced": True},
    ],
)
def test_valid_variants_pass(changes: dict[str, Any]) -> None:
    validate(erp_order(1, **changes))


@pytest.mark.parametrize(("key", "name"), [(7, "7.json"), (0, "0.json"), ("WO-12", "WO-12.json")])
def test_file_names_come_from_the_key(key: Any, name: str) -> None:
    assert file_name(key) == name


@pytest.mark.parametrize(
    "key", ["../etc/passwd", "a/b", ".hidden", "", None, True, -3, 1.5, "x" * 65, "a\x00b"]
)
def test_keys_that_could_escape_the_folder_are_refused(key: Any) -> None:
    with pytest.raises(UnsafeKeyError):
        file_name(key)


def test_stream_folders_are_distinct_plain_names() -> None:
    names = ["work_orders", "public.users", "a/b", "a%2Fb", "..", ".hidden", "test:x?y"]
    folders = [folder_name(n) for n in names]
    assert folders[:2] == ["work_orders", "public.users"]
    assert len(set(folders)) == len(names)  # distinct streams never share a folder
    assert not any("/" in f or f.startswith(".") for f in folders)
    with pytest.raises(ValueError, match="cannot name a folder"):
        folder_name("")


def test_write_atomic_replaces_and_leaves_no_temp_file(tmp_path: Path) -> None:
    write_atomic(tmp_path, "7.json", to_json({"orderNo": 7, "v": 1}))
    write_atomic(tmp_path, "7.json", to_json({"orderNo": 7, "v": 2}))
    assert [p.name for p in tmp_path.iterdir()] == ["7.json"]
    assert json.loads((tmp_path / "7.json").read_text()) == {"orderNo": 7, "v": 2}


def test_journal_appends_lines(tmp_path: Path) -> None:
    journal = tmp_path / "j" / ".written.jsonl"
    append_journal(journal, [{"key": 1, "version": "a"}])
    append_journal(journal, [{"key": 2, "version": "b"}])
    append_journal(journal, [])
    assert [json.loads(line)["key"] for line in journal.read_text().splitlines()] == [1, 2]


def _client_json_sink(tmp_path: Path, **config: Any) -> JsonFileSink:
    target = TargetClientJson(config={"outbound_dir": str(tmp_path / "out"), **config})
    schema = {"properties": {"id": {"type": "integer"}}}
    return JsonFileSink(target, "workorders", schema, ["id"])


@pytest.mark.parametrize(
    ("config", "size"),
    [
        ({}, 500),
        ({"batch_size_rows": 2}, 2),
        ({"batch_size": 3}, 3),  # the old name, deprecated
        ({"batch_size_rows": 2, "batch_size": 3}, 2),
    ],
)
def test_client_json_batch_size_rows_and_its_old_name(
    tmp_path: Path, config: dict[str, int], size: int
) -> None:
    assert _client_json_sink(tmp_path, **config).max_size == size


def test_client_json_dead_letters_follow_the_shared_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEAD_LETTER_DIR", str(tmp_path / "env"))
    assert _client_json_sink(tmp_path).dead_letters.path == (
        tmp_path / "env" / "target-client-json.jsonl"
    )
    configured = _client_json_sink(tmp_path, dead_letter_dir=str(tmp_path / "set"))
    assert configured.dead_letters.path == tmp_path / "set" / "target-client-json.jsonl"
