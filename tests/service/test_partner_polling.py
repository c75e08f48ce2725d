"""The partner feed folder polled by a real worker on PARTNER_FEEDS_POLL_SCHEDULE: each
settled file becomes its partner's upload (stored, queued, loaded once) and is archived; a
partner not onboarded is left alone; a file over the cap is refused with its reason; a feed
stored by a poller that stopped before queueing it is queued by the next poll."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from tests.service.conftest import RunningService
from tests.service.test_partner_api import (
    ACME_CSV,
    GLOBEX_CSV,
    INITECH_JSON,
    admin,
    catalog,
    onboard,
)

pytestmark = pytest.mark.e2e
MAX_BYTES = 4096
StartWorker = Callable[..., subprocess.Popen[bytes]]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("feed-folder")
    return root / "landing", root / "archive"


@pytest.fixture(scope="module")
def service(
    service_factory: Callable[..., RunningService], folders: tuple[Path, Path]
) -> RunningService:
    landing, archive = folders
    return service_factory(
        PARTNER_FEED_MAX_BYTES=str(MAX_BYTES),
        PARTNER_FEEDS_DIR=str(landing),
        PARTNER_FEEDS_ARCHIVE_DIR=str(archive),
        PARTNER_FEEDS_SETTLE_SECONDS="0",
        PARTNER_FEEDS_POLL_SCHEDULE="* * * * * *",  # every second
    )


def land(landing: Path, partner: str, name: str, content: bytes) -> Path:
    """Written under a temporary name and renamed, as a partner's upload tool does."""
    folder = landing / partner
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f".{name}.part").write_bytes(content)
    (folder / f".{name}.part").rename(folder / name)
    return folder / name


def jobs_of(service: RunningService, partner: str) -> list[dict[str, Any]]:
    response = admin(service, "GET", f"/partner/jobs?partner={partner}")
    assert response.status_code == 200, response.text
    return list(response.json())


def wait_until(check: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)
    return result


def archived(archive: Path, status: str, partner: str) -> list[str]:
    folder = archive / status / partner
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_landed_feeds_are_polled_loaded_once_and_archived(
    service: RunningService, folders: tuple[Path, Path], start_worker: StartWorker
) -> None:
    landing, archive = folders
    acme_key = onboard(service, "acme")
    onboard(service, "initech")
    land(landing, "acme", "catalog-2025-03-03.csv", ACME_CSV)
    land(landing, "initech", "catalog.json", INITECH_JSON)
    stranger = land(landing, "globex", "products.csv", GLOBEX_CSV)  # globex is not onboarded
    too_big = land(landing, "acme", "huge.csv", ACME_CSV + b"x" * MAX_BYTES)
    start_worker(service)

    def loaded(partner: str) -> list[dict[str, Any]]:
        return [j for j in jobs_of(service, partner) if j["status"] == "loaded"]

    acme_job = wait_until(lambda: loaded("acme"), "acme's feed loaded")[0]
    wait_until(lambda: loaded("initech"), "initech's feed loaded")
    assert len(catalog(service, "acme")) == acme_job["rows_loaded"] > 0
    assert catalog(service, "initech")
    assert not catalog(service, "globex")

    # archived once stored; the refused file with its reason; the stranger's file left alone
    wait_until(
        lambda: not (landing / "acme").exists() or not any((landing / "acme").iterdir()),
        "acme's landing folder emptied",
    )
    received = archived(archive, "received", "acme")
    assert len(received) == 1
    assert received[0].endswith(
        hashlib.sha256(ACME_CSV).hexdigest()[:12] + "_catalog-2025-03-03.csv"
    )
    refused = archived(archive, "failed", "acme")
    assert len(refused) == 2, refused
    assert refused[0].endswith("_huge.csv")
    assert refused[1] == refused[0] + ".reason"
    reason = (archive / "failed" / "acme" / refused[1]).read_text()
    assert f"over the size cap of {MAX_BYTES} bytes" in reason
    assert not too_big.exists()
    assert stranger.exists()
    assert "feed of a partner not onboarded" in (service.log_file.parent / "worker.log").read_text()

    # the partner sees the file name in its audit
    audit = service.call("GET", "/partner/audit", key=acme_key).json()
    assert [u["source_file"] for u in audit] == ["catalog-2025-03-03.csv"]

    # the same bytes under another name: a duplicate, archived as such, not loaded again
    land(landing, "acme", "again.csv", ACME_CSV)
    wait_until(lambda: archived(archive, "duplicate", "acme"), "the copy archived as duplicate")
    assert [j["job_id"] for j in jobs_of(service, "acme")] == [acme_job["job_id"]]
    assert len(catalog(service, "acme")) == acme_job["rows_loaded"]


def test_a_feed_stored_but_never_queued_is_queued_by_the_next_poll(
    service: RunningService, folders: tuple[Path, Path], start_worker: StartWorker
) -> None:
    landing, _ = folders
    onboard(service, "stalled")
    content = b"sku,name,price,stock\nST-1,Stalled one,1.50,3\nST-2,Stalled two,2.50,4\n"
    # what a poller killed between committing the bytes and deferring the job leaves behind
    with psycopg2.connect(service.database_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO partner_uploads"
            " (partner_id, checksum, content_type, size_bytes, content, source_file)"
            " VALUES ('stalled', %s, 'text/csv', %s, %s, 'feed.csv') RETURNING id",
            (hashlib.sha256(content).hexdigest(), len(content), content),
        )
        (job_id,) = cur.fetchone()
    conn.close()
    land(landing, "stalled", "feed.csv", content)
    start_worker(service)
    job = wait_until(
        lambda: next((j for j in jobs_of(service, "stalled") if j["status"] == "loaded"), None),
        "the stalled feed loaded",
    )
    assert job["job_id"] == job_id
    assert job["rows_loaded"] == 2
    assert [row[0] for row in catalog(service, "stalled")] == ["ST-1", "ST-2"]


def test_a_file_name_that_is_not_utf8_is_kept_readable(
    service: RunningService, folders: tuple[Path, Path], start_worker: StartWorker
) -> None:
    landing, _ = folders
    key = onboard(service, "latin")
    folder = landing / "latin"
    folder.mkdir(parents=True)
    name = os.fsdecode(b"caf\xe9.csv")  # a Latin-1 name: a lone surrogate in Python
    (folder / name).write_bytes(b"sku,name,price,stock\nLA-1,Caf\xc3\xa9,1.00,1\n")
    start_worker(service)
    wait_until(lambda: [j for j in jobs_of(service, "latin") if j["status"] == "loaded"], "loaded")
    audit = service.call("GET", "/partner/audit", key=key).json()
    assert [u["source_file"] for u in audit] == ["caf\ufffd.csv"]
    assert [row[0] for row in catalog(service, "latin")] == ["LA-1"]
