"""TracOS inbound and outbound folders as s3:// URLs, on a local S3 server (moto's server mode).

The round trip runs the real meltano CLI with DATA_INBOUND_DIR / DATA_OUTBOUND_DIR set to
s3:// URLs and AWS_ENDPOINT_URL pointing at the server; the unit tests drive
connector_kit.remote against the same server (and fsspec's memory store for the
temp-name-and-rename path that sftp takes).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
from connector_kit import files
from connector_kit.remote import RemoteFolder, local_path
from moto.server import ThreadedMotoServer

from tests.conftest import summaries
from tests.tracos.conftest import FIXTURES, Flow, as_json, erp_order, load_fixture

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on a free loopback port, for this module's tests."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """An fsspec S3 file system on the local server and a fresh bucket."""
    for name, value in {**AWS_ENV, "AWS_ENDPOINT_URL": s3_endpoint}.items():
        monkeypatch.setenv(name, value)
    fs = fsspec.filesystem("s3", skip_instance_cache=True)
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    fs.mkdir(bucket)
    yield fs, bucket
    fs.rm(bucket, recursive=True)


# --- URL handling -------------------------------------------------------------------------


def test_plain_paths_and_file_urls_are_local() -> None:
    assert local_path("data/inbound") == Path("data/inbound")
    assert local_path("/erp/in") == Path("/erp/in")
    assert local_path("file:///erp/in") == Path("/erp/in")
    assert local_path("s3://bucket/in") is None
    assert local_path("sftp://host/erp/in") is None


def test_remote_folder_names_its_store() -> None:
    folder = RemoteFolder("memory://erp/in/")
    assert (folder.url, folder.root, folder.object_store) == ("memory://erp/in", "/erp/in", False)
    assert folder.parent().child("quarantine").url == "memory://erp/quarantine"
    assert RemoteFolder("s3://bucket/in").object_store


def test_object_rules_settle_temporary_and_cap(s3: tuple[Any, str]) -> None:
    _fs, bucket = s3
    folder = RemoteFolder(f"s3://{bucket}/in")
    folder.write_atomic("1.json", b"[1]")
    folder.write_atomic("2.json.part", b"[")
    (one, part) = sorted(folder.objects("*"), key=lambda st: st.name)
    rules = files.FileRules(settle_seconds=60, max_bytes=10)
    assert folder.check(one, rules)[0] is files.Verdict.UNSETTLED
    assert folder.check(one, rules, now=one.st_mtime + 61)[0] is files.Verdict.READY
    assert folder.check(part, rules)[0] is files.Verdict.TEMPORARY
    verdict, reason = folder.check(one, files.FileRules(settle_seconds=0, max_bytes=2))
    assert verdict is files.Verdict.REFUSED
    assert "size cap of 2 bytes" in reason
    assert folder.objects("*.json") == [one]


def test_object_read_stops_at_cap_and_sees_a_replacement(s3: tuple[Any, str]) -> None:
    _fs, bucket = s3
    folder = RemoteFolder(f"s3://{bucket}/in")
    folder.write_atomic("a.json", b'[{"a": 1}]')
    (listed,) = folder.objects()
    raw, stream = folder.open(listed, files.FileRules(max_bytes=100))
    assert stream.read() == b'[{"a": 1}]'
    assert not raw.changed()
    folder.write_atomic("a.json", b'[{"a": 2}]')  # same size, new content (new ETag)
    assert raw.changed()
    stream.close()

    small = files.FileRules(max_bytes=4)
    with pytest.raises(files.FileRefused, match="size cap"):
        folder.open(listed, small)


def test_set_aside_keeps_earlier_objects_and_writes_the_reason(s3: tuple[Any, str]) -> None:
    fs, bucket = s3
    inbound, quarantine = RemoteFolder(f"s3://{bucket}/in"), RemoteFolder(f"s3://{bucket}/q")
    for content in (b"{", b"[oops"):
        path = inbound.write_atomic("bad.json", content)
        quarantine.set_aside(path, "corrupt JSON: x")
    names = sorted(st.name for st in quarantine.objects("*"))
    assert len(names) == 4
    assert "bad.json" in names
    assert "bad.json.reason" in names
    reason = fs.cat_file(f"{bucket}/q/bad.json.reason").decode()
    assert reason.splitlines()[0] == "corrupt JSON: x"
    assert f"source: s3://{bucket}/in/bad.json" in reason
    assert inbound.objects("*") == []


def test_writes_by_rename_where_the_store_has_one() -> None:
    """sftp and other file stores: temp dot name, then rename (fsspec's memory store here)."""
    folder = RemoteFolder(f"memory://out-{uuid.uuid4().hex[:8]}")
    folder.ensure()
    folder.write_atomic("7.json", b"old")
    folder.write_atomic("7.json", b"new")
    assert folder.fs.cat_file(folder.path("7.json")) == b"new"
    assert [st.name for st in folder.objects("*")] == ["7.json"]  # no temp name left
    first = folder.append_segment(".written.jsonl", '{"key": 1}\n')
    second = folder.append_segment(".written.jsonl", '{"key": 2}\n')
    assert folder.segments(".written.jsonl") == [first, second]


# --- the round trip through meltano -------------------------------------------------------


def _s3_flow(flow: Flow, s3: tuple[Any, str], endpoint: str) -> str:
    fs, bucket = s3
    base = f"s3://{bucket}"
    flow.env.update(
        AWS_ENV,
        AWS_ENDPOINT_URL=endpoint,
        DATA_INBOUND_DIR=f"{base}/inbound",
        DATA_OUTBOUND_DIR=f"{base}/outbound",
    )
    for path in sorted((FIXTURES / "erp_inbound").glob("*.json")):
        fs.pipe_file(f"{bucket}/inbound/{path.name}", path.read_bytes())
    fs.pipe_file(f"{bucket}/inbound/corrupt.json", b'{"orderNo": 900, "isActive": tru')
    fs.pipe_file(f"{bucket}/inbound/upload.json.part", b"[")  # never read
    bad = erp_order(902)
    del bad["creationDate"]
    fs.pipe_file(f"{bucket}/inbound/dump.json", json.dumps([erp_order(901), bad]).encode())
    return bucket


def test_round_trip_through_s3(flow: Flow, s3: tuple[Any, str], s3_endpoint: str) -> None:
    fs, _ = s3
    bucket = _s3_flow(flow, s3, s3_endpoint)
    flow.seed_tracos()

    first = flow.meltano("run", "tracos-inbound", "tracos-outbound")
    assert first.returncode == 0, first.stderr[-4000:]

    docs = flow.documents()
    assert sorted(docs) == [*range(1, 11), *range(101, 111), 901]
    for expected in load_fixture("expected_tracos.json"):
        stored = as_json(docs[expected["number"]])
        assert {k: stored[k] for k in expected} == expected
    assert all(
        doc["isSynced"] is True and isinstance(doc["syncedAt"], dt.datetime)
        for doc in docs.values()
    )

    fs.invalidate_cache()
    reason = fs.cat_file(f"{bucket}/quarantine/corrupt.json.reason").decode()
    assert reason.startswith("corrupt JSON: invalid JSON")
    assert fs.exists(f"{bucket}/quarantine/corrupt.json")
    assert not fs.exists(f"{bucket}/inbound/corrupt.json")
    assert fs.exists(f"{bucket}/inbound/upload.json.part")
    record = fs.cat_file(f"{bucket}/quarantine/dump.1.json.reason").decode()
    assert record.startswith("missing field creationDate (record 1 of dump.json)")
    assert json.loads(fs.cat_file(f"{bucket}/quarantine/dump.1.json"))["orderNo"] == 902

    expected_files = {
        p.name: json.loads(p.read_text()) for p in (FIXTURES / "expected_outbound").glob("*.json")
    }
    landed = {
        Path(p).name: json.loads(fs.cat_file(p))
        for p in fs.ls(f"{bucket}/outbound", detail=False)
        if p.endswith(".json")
    }
    assert landed.pop("901.json")["orderNo"] == 901  # imported from the array file, exported
    assert landed == expected_files
    left = [p for p in fs.ls(f"{bucket}/outbound", detail=False) if not p.endswith(".json")]
    assert left == []  # journal objects acknowledged and consumed, no temp names

    second = flow.meltano("run", "tracos-inbound", "tracos-outbound")
    assert second.returncode == 0, second.stderr[-4000:]
    read = {s["stage"]: s["read"] for s in summaries(second.stderr) if "read" in s}
    assert read == {"tap-client-json.work_orders": 0, "tap-tracos.workorders": 0}


def test_mark_synced_reads_the_journal_at_the_same_url(
    flow: Flow, s3: tuple[Any, str], s3_endpoint: str
) -> None:
    """Export only, then an edit, then the acknowledgement alone from the bucket's journal."""
    fs, bucket = s3
    _s3_flow(flow, s3, s3_endpoint)
    flow.seed_tracos()
    export = flow.meltano("run", "tap-tracos", "tracos-to-erp", "target-client-json")
    assert export.returncode == 0, export.stderr[-4000:]
    fs.invalidate_cache()
    segments = fs.glob(f"{bucket}/outbound/.written.jsonl.seg-*")
    keys = sorted(
        json.loads(line)["key"]
        for seg in segments
        for line in fs.cat_file(seg).decode().splitlines()
    )
    assert keys == list(range(1, 11))

    edited_at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    flow.workorders.update_one({"number": 3}, {"$set": {"updatedAt": edited_at}})
    ack = flow.meltano("run", "tracos-mark-synced:ack")
    assert ack.returncode == 0, ack.stderr[-4000:]
    docs = flow.documents()
    assert [n for n in range(1, 11) if docs[n].get("isSynced") is not True] == [3]
    fs.invalidate_cache()
    assert fs.glob(f"{bucket}/outbound/.written.jsonl.seg-*") == []
