"""TracOS folders as fsspec URLs: s3:// on a local S3 server (moto's server mode), sftp:// on a
local SFTP server (asyncssh).

The round trip runs the real meltano CLI with DATA_INBOUND_DIR / DATA_OUTBOUND_DIR set to
s3:// URLs and AWS_ENDPOINT_URL pointing at the server; the unit tests drive
connector_kit.remote against the same server (and fsspec's memory store for the
temp-name-and-rename path that sftp takes). The sftp server's host key is verified
(connector_kit.hostkeys): the tests list it in a known_hosts file, SFTP_KNOWN_HOSTS.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fsspec
import paramiko
import pytest
from connector_kit import files
from connector_kit.remote import RemoteFolder, local_path
from moto.server import ThreadedMotoServer

from tests.conftest import VENV_BIN, summaries
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


# --- sftp:// on a local SFTP server (asyncssh, serving this machine's files) --------------

SFTP_USER, SFTP_PASSWORD = "erp", "sftp-test-secret"


@dataclass
class SftpServer:
    port: int
    host_key: str  # its public key, OpenSSH format
    logins: list[str]  # the users that tried a password, in order

    @property
    def known_hosts_line(self) -> str:
        return f"[127.0.0.1]:{self.port} {self.host_key}"


@pytest.fixture(scope="module")
def sftp_server() -> Iterator[SftpServer]:
    """An SFTP server on a free loopback port, password login, in a thread of its own."""
    import asyncio
    import threading

    import asyncssh

    logins: list[str] = []

    class Server(asyncssh.SSHServer):
        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            logins.append(username)
            return (username, password) == (SFTP_USER, SFTP_PASSWORD)

    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    listener = loop.run_until_complete(
        asyncssh.listen(
            "127.0.0.1", 0, server_factory=Server, server_host_keys=[key], sftp_factory=True
        )
    )
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    public = key.export_public_key("openssh").decode().strip()
    yield SftpServer(listener.get_port(), public, logins)

    async def close() -> None:
        listener.close()
        await listener.wait_closed()
        current = asyncio.current_task()
        for task in asyncio.all_tasks():  # sessions of clients still connected
            if task is not current:
                task.cancel()

    asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


def _other_key() -> str:
    import asyncssh

    return asyncssh.generate_private_key("ssh-ed25519").export_public_key("openssh").decode()


@pytest.fixture
def known_hosts(sftp_server: SftpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A known_hosts file listing the server's key, in SFTP_KNOWN_HOSTS (the plugins inherit it)."""
    path = tmp_path / "known_hosts"
    path.write_text(f"127.0.0.1 {_other_key()}{sftp_server.known_hosts_line}\n")  # port 22: not it
    monkeypatch.setenv("SFTP_KNOWN_HOSTS", str(path))
    monkeypatch.delenv("SFTP_HOST_KEY_POLICY", raising=False)
    return path


def _sftp(port: int, path: Path) -> str:
    return f"sftp://{SFTP_USER}:{SFTP_PASSWORD}@127.0.0.1:{port}{path}"


def _sftp_inbound(sftp_server: SftpServer, tmp_path: Path) -> tuple[Path, Path]:
    """An inbound folder served over sftp (a good file, a corrupt one) and a tap config for it."""
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    (inbound / "1.json").write_text(json.dumps(erp_order(1)))
    (inbound / "bad.json").write_text("{oops")
    config = tmp_path / "tap.json"
    inbound_url = _sftp(sftp_server.port, inbound)
    config.write_text(json.dumps({"inbound_dir": inbound_url, "settle_seconds": 0}))
    return inbound, config


def _pending_journal(tmp_path: Path) -> tuple[Path, Path]:
    """An outbound folder whose journal holds one segment not yet acknowledged."""
    outbound = tmp_path / "out"
    outbound.mkdir()
    segment = outbound / ".written.jsonl.seg-00000000000000000001-abcd1234"
    segment.write_text('{"key": 1, "version": "2024-01-01T00:00:00+00:00"}\n')
    return outbound, segment


def _run_ack(journal: str) -> subprocess.CompletedProcess[str]:
    """tracos-mark-synced with a TracOS that does not answer: it must stop before needing it."""
    return subprocess.run(
        [str(VENV_BIN / "tracos-mark-synced"), "ack"],
        env={
            **os.environ,
            "TRACOS_MARK_SYNCED_JOURNAL_PATH": journal,
            "TRACOS_MARK_SYNCED_MONGO_URI": "mongodb://127.0.0.1:9/x",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ack_stopped(result: subprocess.CompletedProcess[str]) -> str:
    """The acknowledgement stopped with exit 1 and one error line, no traceback: that line."""
    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if " ERROR " in line]
    assert "journal unreachable, kept for the next run" in line
    return line


def _run_tap(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "tap-client-json"), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_sftp_folder_writes_by_rename_and_reads_settled_files(
    sftp_server: SftpServer, known_hosts: Path, tmp_path: Path
) -> None:
    out = RemoteFolder(_sftp(sftp_server.port, tmp_path / "out"))
    assert not out.object_store
    assert SFTP_PASSWORD not in str(out)
    out.ensure()
    out.write_atomic("7.json", b"old")
    out.write_atomic("7.json", b"new")  # replaces: sftp's rename alone would refuse
    assert (tmp_path / "out" / "7.json").read_bytes() == b"new"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["7.json"]  # no temp left

    (listed,) = out.objects("*.json")
    rules = files.FileRules(settle_seconds=3600)
    assert out.check(listed, rules)[0] is files.Verdict.UNSETTLED
    os.utime(tmp_path / "out" / "7.json", (1, 1))
    (listed,) = out.objects("*.json")
    assert out.check(listed, rules)[0] is files.Verdict.READY
    raw, stream = out.open(listed, rules)
    assert stream.read() == b"new"
    (tmp_path / "out" / "7.json").write_bytes(b"newer")
    assert raw.changed()
    stream.close()

    quarantine = out.parent().child("quarantine")
    assert quarantine.fs is out.fs  # one connection for the folders of one server
    moved = quarantine.set_aside(listed.path, "corrupt JSON: x")
    assert Path(moved).read_bytes() == b"newer"
    reason = (tmp_path / "quarantine" / "7.json.reason").read_text()
    assert reason.startswith("corrupt JSON: x\nsource: sftp://")
    assert SFTP_PASSWORD not in reason


def test_tap_reads_an_sftp_inbound_folder(
    sftp_server: SftpServer, known_hosts: Path, tmp_path: Path
) -> None:
    """The real tap-client-json CLI over sftp://: good files out, a corrupt one quarantined."""
    inbound, config = _sftp_inbound(sftp_server, tmp_path)
    result = _run_tap(config)

    assert result.returncode == 0, result.stderr[-3000:]
    records = [
        json.loads(line)["record"]
        for line in result.stdout.splitlines()
        if json.loads(line)["type"] == "RECORD"
    ]
    assert [r["orderNo"] for r in records] == [1]
    assert (tmp_path / "quarantine" / "bad.json.reason").read_text().startswith("corrupt JSON")
    assert not (inbound / "bad.json").exists()
    assert SFTP_PASSWORD not in result.stderr


def test_an_unknown_host_key_stops_the_tap_before_login(
    sftp_server: SftpServer, known_hosts: Path, tmp_path: Path
) -> None:
    """Not in known_hosts: one line naming host, key and file, exit 1; the password is not sent."""
    known_hosts.write_text(f"127.0.0.1 {_other_key()}")  # the host on port 22 only
    inbound, config = _sftp_inbound(sftp_server, tmp_path)
    logins = len(sftp_server.logins)

    result = _run_tap(config)

    assert result.returncode == 1, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "host key" in line]
    host = f"[127.0.0.1]:{sftp_server.port}"
    fingerprint = paramiko.PKey.from_type_string(
        "ssh-ed25519", base64.b64decode(sftp_server.host_key.split()[1])
    ).fingerprint
    assert (
        f'tap-client-json failed plugin=tap-client-json error="host key of {host} unknown: ssh-ed25519 {fingerprint} is not in {known_hosts}'
        in line
    )
    assert f"ssh-keyscan -p {sftp_server.port} 127.0.0.1 >> {known_hosts}" in line
    assert len(sftp_server.logins) == logins  # refused before the password left
    assert not any(json.loads(out)["type"] == "RECORD" for out in result.stdout.splitlines())
    assert sorted(p.name for p in inbound.iterdir()) == ["1.json", "bad.json"]
    assert not (tmp_path / "quarantine").exists()
    assert SFTP_PASSWORD not in result.stderr


def test_a_changed_host_key_stops_the_acknowledgement(
    sftp_server: SftpServer, known_hosts: Path, tmp_path: Path
) -> None:
    """The host listed with another key: refused as changed, the journal kept, exit 1."""
    known_hosts.write_text(f"[127.0.0.1]:{sftp_server.port} {_other_key()}")
    outbound, segment = _pending_journal(tmp_path)
    logins = len(sftp_server.logins)

    result = _run_ack(f"{_sftp(sftp_server.port, outbound)}/.written.jsonl")

    line = _ack_stopped(result)
    assert f"host key of [127.0.0.1]:{sftp_server.port} CHANGED: it presented ssh-ed25519" in line
    assert "someone may be intercepting the connection" in line
    assert len(sftp_server.logins) == logins
    assert segment.exists()
    assert SFTP_PASSWORD not in result.stderr


def test_a_refused_login_stops_the_acknowledgement(
    sftp_server: SftpServer, known_hosts: Path, tmp_path: Path
) -> None:
    """A wrong sftp password: one line naming the store, no traceback, the journal kept, exit 1."""
    outbound, segment = _pending_journal(tmp_path)
    logins = len(sftp_server.logins)

    refused = f"sftp://{SFTP_USER}:not-the-secret@127.0.0.1:{sftp_server.port}{outbound}"
    result = _run_ack(f"{refused}/.written.jsonl")

    line = _ack_stopped(result)
    assert f"sftp://127.0.0.1:{sftp_server.port}" in line
    assert "not-the-secret" not in result.stderr
    assert set(sftp_server.logins[logins:]) == {SFTP_USER}  # the server was asked, and said no
    assert segment.exists()


def test_accept_any_connects_to_an_unknown_host(
    sftp_server: SftpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SFTP_HOST_KEY_POLICY=accept-any (trusted test networks): no known_hosts, a warning."""
    monkeypatch.setenv("SFTP_KNOWN_HOSTS", str(tmp_path / "absent"))
    monkeypatch.setenv("SFTP_HOST_KEY_POLICY", "accept-any")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "1.json").write_text("{}")

    with caplog.at_level("WARNING", logger="connector_kit.hostkeys"):
        folder = RemoteFolder(_sftp(sftp_server.port, tmp_path / "in"))
        assert [st.name for st in folder.objects("*.json")] == ["1.json"]

    (warning,) = caplog.messages
    assert warning.startswith(f"sftp host key not verified host=[127.0.0.1]:{sftp_server.port}")
    assert "because=SFTP_HOST_KEY_POLICY=accept-any" in warning


def test_outbound_and_acknowledgement_through_sftp(
    flow: Flow, sftp_server: SftpServer, known_hosts: Path
) -> None:
    """`meltano run tracos-outbound` with DATA_OUTBOUND_DIR an sftp:// URL."""
    flow.seed_tracos()
    outbound = flow.root / "sftp-out"
    result = flow.meltano(
        "run",
        "tracos-outbound",
        DATA_OUTBOUND_DIR=_sftp(sftp_server.port, outbound),
        SFTP_KNOWN_HOSTS=str(known_hosts),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    names = sorted(p.name for p in outbound.iterdir())
    assert names == sorted(f"{n}.json" for n in range(1, 11))  # journal segments consumed
    assert json.loads((outbound / "3.json").read_text())["orderNo"] == 3
    assert all(doc["isSynced"] is True for doc in flow.documents().values())
    assert SFTP_PASSWORD not in result.stderr


def test_a_missing_bucket_stops_the_acknowledgement(s3: tuple[Any, str]) -> None:
    from tap_tracos import mark_synced

    assert not RemoteFolder("s3://no-such-bucket-here/out").exists()
    assert RemoteFolder(f"s3://{s3[1]}/absent-prefix").exists()  # an empty prefix is a folder
    journal = "s3://no-such-bucket-here/out/.written.jsonl"
    code = mark_synced.main(["ack", "--journal", journal, "--mongo-uri", "mongodb://127.0.0.1:9/x"])
    assert code == 2
