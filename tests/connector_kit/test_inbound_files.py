"""connector_kit.files, .jsonstream and .mongo.bson_problem: one rule per case, real files."""

from __future__ import annotations

import io
import os
import time
from decimal import Decimal
from pathlib import Path

import pytest
from connector_kit import files
from connector_kit.jsonstream import InvalidJson, JsonRecords, JsonShapeError
from connector_kit.mongo import bson_problem

RULES = files.FileRules(settle_seconds=10, max_bytes=100)


def written(path: Path, data: bytes, age: float = 60) -> Path:
    path.write_bytes(data)
    os.utime(path, (time.time() - age, time.time() - age))
    return path


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("a.json", files.Verdict.READY),
        (".a.json", files.Verdict.TEMPORARY),
        ("a.json.part", files.Verdict.TEMPORARY),
        ("a.json.TMP", files.Verdict.TEMPORARY),
        ("a.csv.filepart", files.Verdict.TEMPORARY),
        ("a.csv~", files.Verdict.TEMPORARY),
    ],
)
def test_temporary_names_are_never_taken(tmp_path: Path, name: str, verdict: str) -> None:
    assert files.check_file(written(tmp_path / name, b"{}"), RULES).verdict == verdict


def test_settled_means_unchanged_for_the_settle_time(tmp_path: Path) -> None:
    fresh = written(tmp_path / "fresh.json", b"{}", age=1)
    settled = written(tmp_path / "settled.json", b"{}", age=11)

    assert files.check_file(fresh, RULES).verdict == files.Verdict.UNSETTLED
    assert files.check_file(settled, RULES).verdict == files.Verdict.READY


def test_special_files_and_oversize_files_are_refused_unopened(tmp_path: Path) -> None:
    target = written(tmp_path / "target.json", b"{}")
    (tmp_path / "link.json").symlink_to(target)
    os.mkfifo(tmp_path / "pipe.json")
    (tmp_path / "dir.json").mkdir()
    big = written(tmp_path / "big.json", b" " * 101)

    reasons = {
        p.name: files.check_file(p, RULES).reason
        for p in (tmp_path / "link.json", tmp_path / "pipe.json", tmp_path / "dir.json", big)
    }

    assert reasons == {
        "link.json": "not a regular file: a symbolic link (links are not followed)",
        "pipe.json": "not a regular file: a FIFO (named pipe)",
        "dir.json": "not a regular file: a directory",
        "big.json": "file of 101 bytes is over the size cap of 100 bytes (setting max_file_bytes)",
    }


def test_open_refuses_what_was_swapped_in_after_the_listing(tmp_path: Path) -> None:
    path = written(tmp_path / "a.json", b"{}")
    listed = path.lstat()
    path.unlink()
    os.mkfifo(path)  # a FIFO in its place: opening must neither follow nor block

    with pytest.raises(files.FileRefused, match="FIFO"):
        files.open_file(path, RULES, expected=listed)
    path.unlink()
    path.symlink_to(tmp_path)
    with pytest.raises(files.FileRefused, match="symbolic link"):
        files.open_file(path, RULES, expected=listed)
    path.unlink()
    written(path, b"[1]")
    with pytest.raises(files.FileChanged):
        files.open_file(path, RULES, expected=listed)


def test_reading_stops_at_the_cap_when_the_file_grows(tmp_path: Path) -> None:
    path = written(tmp_path / "a.json", b"x" * 50)
    raw, stream = files.open_file(path, RULES)
    with path.open("ab") as fh:
        fh.write(b"x" * 100)

    assert raw.changed()
    with stream, pytest.raises(files.FileRefused, match="grew over the size cap"):
        stream.read()


def test_a_set_aside_file_that_changed_is_found(tmp_path: Path) -> None:
    path = written(tmp_path / "a.json", b"[1,")
    files.write_reason(path, "corrupt", Path("/in/a.json"))
    assert files.changed_since_set_aside(path, RULES) is None

    written(path, b"[1,2]")

    assert files.changed_since_set_aside(path, RULES) == Path("/in/a.json")
    back = files.take_back(path, tmp_path / "..", "a.json")
    assert back.read_bytes() == b"[1,2]"
    assert not (tmp_path / "a.json.reason").exists()


def test_excerpt_is_one_short_line() -> None:
    assert files.excerpt("a\nb\x00c") == "a\\nb\\x00c"
    assert files.excerpt("é" * 130) == "é" * 120 + "... (130 chars)"


@pytest.mark.parametrize(
    ("document", "options", "records"),
    [
        (
            b'[{"a": [1, {"b": null}]}, 2.50, "s"]',
            {},
            [{"a": [1, {"b": None}]}, Decimal("2.50"), "s"],
        ),
        (
            b'{"x": {"products": 1}, "products": [{"a": 1}]}',
            {"records_key": "products"},
            [{"a": 1}],
        ),
        (b'{"a": 1}', {"allow_single": True}, [{"a": 1}]),
        (b"[]", {}, []),
        (b"\xef\xbb\xbf \n [1]", {}, [1]),
        (b'{"p": [], "q": 1}', {"records_key": "p"}, []),
    ],
)
def test_json_records_stream(document: bytes, options: dict, records: list) -> None:
    assert list(JsonRecords(io.BytesIO(document), **options)) == records


@pytest.mark.parametrize(
    ("document", "options", "error", "message"),
    [
        (
            b'[{"a": 1}, {"b',
            {},
            InvalidJson,
            "invalid JSON after record 1: parse error: premature EOF",
        ),
        (b"[1] x", {}, InvalidJson, "invalid JSON after record 1: parse error: trailing garbage"),
        (b'{"a": 1}', {}, JsonShapeError, "JSON document must be a list of records"),
        (b'{"p": 1}', {"records_key": "p"}, JsonShapeError, "with a list under 'p'"),
        (b'{"q": [1]}', {"records_key": "p"}, JsonShapeError, "with a list under 'p'"),
        (b"  ", {}, InvalidJson, "invalid JSON: empty document"),
    ],
)
def test_json_records_errors(document: bytes, options: dict, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        list(JsonRecords(io.BytesIO(document), **options))


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ({"n": 2**63 - 1, "s": "ok"}, None),
        ({"n": 2**63}, "an integer is outside what MongoDB holds"),
        ({"n": -(2**63) - 1}, "an integer is outside what MongoDB holds"),
        ({"s": "\ud800"}, "not storable in MongoDB: UnicodeEncodeError"),
        ({"a\x00b": 1}, "not storable in MongoDB: InvalidDocument"),
        ({"s": "x" * 100}, "document of 113 bytes is over MongoDB's limit of 100 bytes"),
    ],
)
def test_bson_problem(doc: dict, problem: str | None) -> None:
    found = bson_problem(doc, max_size=100)
    assert found == problem if problem is None else (found or "").startswith(problem)
