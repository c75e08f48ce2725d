"""The console in a real browser (Debian's headless chromium) against the real service.

JavaScript stays off in spirit: every step is a link or a plain form post.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from ops import replay
from ops.report import JobReport, RunReport
from tests.admin.conftest import Shots, sign_in, submit, text
from tests.glassdome.conftest import API_KEY, flow_env, glassdome, meltano_run, mes_url
from tests.service.conftest import RunningService

__all__ = ["flow_env", "glassdome", "mes_url"]

pytestmark = pytest.mark.e2e
FEED = (
    Path(__file__).resolve().parents[2] / "sandbox/partner_feeds/feeds/acme/catalog-2025-03-03.csv"
).read_bytes()


@pytest.fixture(scope="module")
def console(
    service_factory: Callable[..., RunningService], tmp_path_factory: pytest.TempPathFactory
) -> RunningService:
    """One service for the console tests that need no flow; its reports in a folder of its own."""
    reports = tmp_path_factory.mktemp("reports")
    # SERVICE_ENV left at prod: a Secure cookie, which browsers keep for http://127.0.0.1 too.
    service = service_factory(REPORTS_DIR=str(reports))
    service.reports = reports  # type: ignore[attr-defined]
    return service


def upload(service: RunningService, key: str) -> requests.Response:
    return requests.post(
        service.url + "/partner/ingest?async=0",
        data=FEED,
        headers={"X-API-Key": key, "Content-Type": "text/csv"},
        timeout=60,
    )


def test_sign_in_wrong_key_csrf_and_logout(
    browser: webdriver.Chrome, console: RunningService, shots: Shots
) -> None:
    browser.get(console.url + "/admin/partners")
    assert browser.current_url.endswith("/admin/login")  # no session: to the login page
    sign_in(browser, console, key="not-the-key")
    shots("wrong-key")
    assert "That is not the admin key." in text(browser)
    browser.get(console.url + "/admin/partners")
    assert browser.current_url.endswith("/admin/login")  # and no session came of it

    sign_in(browser, console)
    assert browser.current_url.endswith("/admin/runs")
    cookie = browser.get_cookie("admin_session")
    assert cookie is not None
    assert cookie["httpOnly"]
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"]

    # The same session, a form without its token: refused, nothing changed.
    jar = {"admin_session": cookie["value"]}
    forged = requests.post(
        console.url + "/admin/partners",
        data={"partner_id": "forged", "name": "Forged"},
        cookies=jar,
        allow_redirects=False,
        timeout=30,
    )
    assert forged.status_code == 403
    wrong = requests.post(
        console.url + "/admin/partners",
        data={"partner_id": "forged", "name": "Forged", "csrf": "guess"},
        cookies=jar,
        allow_redirects=False,
        timeout=30,
    )
    assert wrong.status_code == 403
    browser.get(console.url + "/admin/partners")
    assert "forged" not in text(browser)

    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.logout button"))
    assert browser.current_url.endswith("/admin/login")
    browser.get(console.url + "/admin/dead-letters")
    assert browser.current_url.endswith("/admin/login")


def test_onboard_shows_the_key_once_and_revoke_locks_it_out(
    browser: webdriver.Chrome, console: RunningService, shots: Shots
) -> None:
    sign_in(browser, console)
    browser.get(console.url + "/admin/partners")
    browser.find_element(By.NAME, "partner_id").send_keys("acme")
    browser.find_element(By.NAME, "name").send_keys("Acme Supplies")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.inline button"))
    key = browser.find_element(By.ID, "issued-key").text
    shots("onboarded-key-shown-once")
    assert key.startswith("pk_")
    loaded = upload(console, key)
    assert loaded.ok, loaded.text
    assert loaded.json()["status"] == "loaded"

    browser.get(console.url + "/admin/partners")  # shown once: not on the page again
    assert key not in browser.page_source
    assert "acme" in text(browser)
    row = browser.find_element(By.ID, "partner-acme")
    submit(browser, row.find_element(By.CSS_SELECTOR, "button.danger"))
    shots("revoked")
    assert "revoked" in browser.find_element(By.ID, "partner-acme").text
    assert upload(console, key).status_code == 401


def test_runs_show_the_last_runs_and_a_chart_per_job(
    browser: webdriver.Chrome, console: RunningService, shots: Shots
) -> None:
    reports: Path = console.reports  # type: ignore[attr-defined]
    sign_in(browser, console)
    assert "No run reports yet" in text(browser)
    start = dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC)
    for hour, (read, code) in enumerate(((1000, 0), (1500, 0), (400, 1))):
        RunReport(
            f"run{hour}",
            "prod",
            (start + dt.timedelta(hours=hour)).isoformat(),
            [
                JobReport("glassdome", code, 10.0, read=read, inserted=read - 5, rejected=5),
                JobReport("mes-warehouse", 0, 4.0, read=read * 10, inserted=read * 10),
            ],
        ).save(reports)
    browser.get(console.url + "/admin/runs")
    shots("runs")
    body = text(browser)
    assert "3 runs" in body
    assert "2026-12-01 08:00:00 UTC" in body
    glassdome_row = browser.find_element(By.XPATH, "//tbody/tr[td/a[text()='glassdome']]").text
    assert "400" in glassdome_row
    assert "395" in glassdome_row
    assert "failed" in glassdome_row
    charts = browser.find_elements(By.CSS_SELECTOR, "img.chart")
    assert len(charts) == 2
    assert all(int(c.get_property("naturalWidth") or 0) > 100 for c in charts)
    shutil.copy(shots("runs-final"), "/tmp/console-runs.png")


def test_dead_letters_replayed_from_the_console(
    browser: webdriver.Chrome,
    service_factory: Callable[..., RunningService],
    flow_env: dict[str, str],
    glassdome: Any,
    mes_url: str,
    shots: Shots,
    tmp_path: Path,
    start_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    env = {**flow_env, "REPORTS_DIR": str(tmp_path / "reports"), "SERVICE_ENV": "dev"}
    # A run with a poison record: MAT-1001's sku is held by another Glassdome product.
    glassdome.insert([{"id": "EXT-HOLDER", "sku": "SKU-ALPHA-NEW", "status": "ACTIVE"}])
    assert meltano_run("glassdome", env=env).returncode != 0
    flow_vars = ("MES_DATABASE_URL", "GLASSDOME_API_URL", "GLASSDOME_API_KEY", "DEAD_LETTER_DIR")
    service = service_factory(
        **{k: v for k, v in env.items() if k.startswith(("MELTANO_", "TAP_", "TARGET_"))},
        **{k: env[k] for k in (*flow_vars, "REPORTS_DIR", "SERVICE_ENV", "PATH")},
    )
    sign_in(browser, service)
    browser.get(service.url + "/admin/dead-letters")
    section = browser.find_element(By.ID, "flow-glassdome")
    assert "sku SKU-ALPHA-NEW held by EXT-HOLDER" in section.text
    shots("dead-letters")

    # Fix the cause in Glassdome, then select the entry and replay it.
    requests.patch(
        f"{glassdome.url}/products",
        json=[{"id": "EXT-HOLDER", "sku": "SKU-HOLDER-OLD"}],
        headers={"X-API-Key": API_KEY},
        timeout=10,
    ).raise_for_status()
    dead = Path(env["DEAD_LETTER_DIR"]) / "glassdome.jsonl"
    entry = next(e for e in replay.read_entries(dead) if e["record"]["id"] == "MAT-1001")
    browser.find_element(By.ID, f"dl-{replay.entry_id(entry)}").click()
    submit(browser, section.find_element(By.XPATH, ".//button[text()='Replay selected']"))
    WebDriverWait(browser, 30).until(
        expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".replay-state"))
    )
    shots("replay-started")
    assert browser.find_element(By.CSS_SELECTOR, ".replay-state").text == "todo"
    start_worker(service)  # the replay is a job of the queue: the worker runs it
    deadline = time.monotonic() + 120
    while (state := browser.find_element(By.CSS_SELECTOR, ".replay-state").text) in (
        "todo",
        "doing",
    ):
        assert time.monotonic() < deadline, text(browser)
        time.sleep(1)
        browser.refresh()
    shots("replayed")
    assert state == "succeeded", text(browser)
    assert glassdome.products()["MAT-1001"] == ("SKU-ALPHA-NEW", "ACTIVE")
    assert "Replayed archive: 1 delivered" in browser.find_element(By.ID, "flow-glassdome").text
    assert all(e["record"]["id"] != "MAT-1001" for e in replay.read_entries(dead))
    with psycopg2.connect(mes_url):
        pass  # the MES database stayed reachable through the run (fixture teardown drops it)


def test_failed_job_shows_its_error_and_requeue_queues_it(
    browser: webdriver.Chrome, console: RunningService, shots: Shots
) -> None:
    admin = {"X-Admin-Key": console.admin_key}
    issued = requests.post(
        console.url + "/partner/partners", json={"id": "brokenco", "name": "B"}, headers=admin
    )
    key = issued.json()["api_key"]
    failed = requests.post(
        console.url + "/partner/ingest?async=0",
        data=b"{not json",
        headers={"X-API-Key": key, "Content-Type": "application/json"},
        timeout=60,
    )
    assert failed.status_code == 422
    job = requests.get(console.url + "/partner/jobs?partner=brokenco", headers=admin).json()[0]
    error = job["error"]
    assert error

    sign_in(browser, console)
    browser.get(console.url + "/admin/jobs?status=loaded")  # the filter leaves it out
    assert not browser.find_elements(By.ID, f"job-{job['job_id']}")
    browser.get(console.url + "/admin/jobs?status=failed")
    row = browser.find_element(By.ID, f"job-{job['job_id']}")
    assert row.find_element(By.CSS_SELECTOR, ".job-status").text == "failed"
    assert row.find_element(By.CSS_SELECTOR, ".attempt-error").text == error
    assert "1" in row.find_element(By.CSS_SELECTOR, ".attempts").get_attribute("innerHTML")
    shots("job-failed")

    submit(browser, row.find_element(By.XPATH, ".//button[text()='Requeue']"))
    row = browser.find_element(By.ID, f"job-{job['job_id']}")
    assert row.find_element(By.CSS_SELECTOR, ".queue-status").text == "todo"
    assert row.find_element(By.CSS_SELECTOR, ".job-status").text == "queued"
    assert f"Job {job['job_id']} is queued again" in text(browser)
    shots("job-requeued")
    again = requests.get(console.url + f"/partner/jobs/{job['job_id']}", headers=admin).json()
    assert (again["status"], again["queue_status"]) == ("queued", "todo")
