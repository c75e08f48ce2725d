"""Faults, poison records and a killed target, end to end through `meltano run glassdome`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import psycopg2
import pytest

from sandbox import mes
from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN, run_meltano
from tests.glassdome.conftest import (
    API_KEY,
    GlassdomeApi,
    dead_letters,
    dumped_config,
    expected_products,
    future,
    meltano_run,
)

pytestmark = pytest.mark.e2e
STATE_ID = "prod:tap-mes-to-target-glassdome"
LATEST_PER_MATERIAL = (
    "SELECT matnr FROM (SELECT matnr, max(updated_at) AS latest FROM ("
    " SELECT material_number AS matnr, updated_at FROM production_orders"
    " WHERE deleted_at IS NULL"
    " UNION ALL SELECT matnr, updated_at FROM mvke WHERE deleted_at IS NULL) AS live"
    " GROUP BY matnr) AS m"
)


def test_fault_mode_delivers_every_product_exactly_once(
    flow_env: dict[str, str], glassdome: GlassdomeApi, mes_url: str
) -> None:
    mes.generate(mes_url, orders=3000, materials=2000)
    glassdome.faults(error=0.2, throttle=0.05, drop=0.05, drop_after=0.05, retry_after=0.05)

    run = meltano_run("glassdome", env=flow_env)

    assert run.returncode == 0, run.output[-3000:]
    glassdome.faults()
    expected = expected_products(mes_url)
    assert len(expected) == 2008
    products = glassdome.products()
    assert products == expected  # a unique external_id per row: none missing, none twice
    summary = run.summary()
    assert summary["rejected"] == "0"
    assert int(summary["retried"]) > 0
    assert dead_letters(flow_env) == []


def test_poison_records_are_dead_lettered_and_the_rest_delivered(
    flow_env: dict[str, str], glassdome: GlassdomeApi, mes_url: str
) -> None:
    mes.generate(mes_url, orders=2000, materials=2000)
    generated = sorted(m for m in expected_products(mes_url) if m.startswith("GEN-"))
    clashing, unmapped = generated[0:200:20], generated[1:200:20]  # 1% of each kind
    glassdome.insert(
        [{"id": f"OTHER-{i}", "sku": f"CLASH-{i}", "status": "ACTIVE"} for i in range(10)]
    )
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        for i, material in enumerate(clashing):
            cur.execute(
                "UPDATE mvke SET sku = %s, updated_at = %s WHERE matnr = %s",
                (f"CLASH-{i}", future(i), material),
            )
        for i, material in enumerate(unmapped):
            cur.execute(
                "UPDATE mvke SET status = 'on hold', updated_at = %s WHERE matnr = %s",
                (future(i), material),
            )
        # A valid change an hour later moves the bookmark past the lookback window of the poison.
        cur.execute(
            "UPDATE mvke SET updated_at = %s WHERE matnr = %s", (future(3600), generated[2])
        )
    conn.close()

    run = meltano_run("glassdome", env={**flow_env, "TARGET_GLASSDOME_FAIL_ON_REJECTS": "false"})

    assert run.returncode == 0, run.output[-3000:]
    expected = {m: p for m, p in expected_products(mes_url).items() if m not in clashing}
    expected |= {f"OTHER-{i}": (f"CLASH-{i}", "ACTIVE") for i in range(10)}
    assert glassdome.products() == expected
    letters = {letter["record"]["id"]: letter for letter in dead_letters(flow_env)}
    assert sorted(letters) == sorted(clashing + unmapped)
    for i, material in enumerate(clashing):  # decided before sending: no request refused
        assert letters[material]["reason"] == f"sku CLASH-{i} held by OTHER-{i}"
    for material in unmapped:
        assert letters[material]["reason"].startswith("invalid status None")
        assert letters[material]["record"]["source_status"] == "on hold"
    assert run.summary()["rejected"] == "20"

    # One more poison record (past the lookback window), with the default fail_on_rejects.
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE mvke SET status = 'frozen', updated_at = %s WHERE matnr = %s",
            (future(7200), generated[5]),
        )
    conn.close()

    failing = meltano_run("glassdome", env=flow_env)

    assert failing.returncode != 0
    assert failing.summary()["rejected"] == "1"
    assert len(dead_letters(flow_env)) == 21


def _bookmark(env: dict[str, str]) -> str | None:
    result = run_meltano("state", "get", STATE_ID, env=env)
    if result.returncode != 0 or not result.stdout.strip():
        return None
    state = json.loads(result.stdout.strip().splitlines()[-1])
    bookmark = state.get("singer_state", {}).get("bookmarks", {}).get("material_latest", {})
    return bookmark.get("replication_key_value")


HOLD_AFTER = 1300  # Glassdome holds every write once it has this many products


def _kill_target_once_writing(process: subprocess.Popen[str], glassdome: GlassdomeApi) -> None:
    """Kill -9 the target once Glassdome holds its writes: always mid-run, at a known point."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if len(glassdome.products()) >= HOLD_AFTER:
            for child in psutil.Process(process.pid).children(recursive=True):
                if "target-glassdome" in " ".join(child.cmdline()):
                    os.kill(child.pid, signal.SIGKILL)
                    return
        time.sleep(0.05)
    pytest.fail("the target ended or stalled before Glassdome held its writes")


def test_kill_9_mid_run_then_rerun_converges_and_state_is_never_ahead(
    flow_env: dict[str, str], glassdome: GlassdomeApi, mes_url: str
) -> None:
    mes.generate(mes_url, orders=2500, materials=2500)
    glassdome.faults(hold_after=HOLD_AFTER)  # the run cannot end before the kill
    env = {
        **flow_env,
        "TARGET_GLASSDOME_BATCH_SIZE_ROWS": "400",
        "TAP_MES_BATCH_CONFIG_BATCH_SIZE": "400",  # files of 400 products, a STATE after each
        "TARGET_GLASSDOME_MAX_CONCURRENCY": "1",
        "TARGET_GLASSDOME_REQUEST_SIZE": "100",
    }
    process = subprocess.Popen(
        [str(VENV_BIN / "meltano"), "run", "glassdome"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _kill_target_once_writing(process, glassdome)
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0
    assert API_KEY not in output
    glassdome.faults()

    bookmark = _bookmark(env)
    expected = expected_products(mes_url)
    delivered = glassdome.products()
    assert len(delivered) < len(expected)
    assert bookmark is not None  # the target emitted STATE after a written file
    # Never ahead: every material whose latest row is older than the bookmark is delivered.
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        cur.execute(LATEST_PER_MATERIAL + " WHERE latest < %s", (bookmark,))
        covered = {row[0] for row in cur.fetchall()}
    conn.close()
    assert len(covered) >= 800  # killed after 1,300 products: 3 files of 400 were written
    assert covered <= set(delivered)

    rerun = meltano_run("glassdome", env=env)

    assert rerun.returncode == 0, rerun.output[-3000:]
    assert glassdome.products() == expected


def test_record_mode_kill_9_leaves_a_bookmark_never_ahead(
    flow_env: dict[str, str], glassdome: GlassdomeApi, mes_url: str, tmp_path: Path
) -> None:
    """Without batch_config the tap sends RECORDs with a bookmark every 1,000 rows, and the
    target emits STATE after each written batch: a killed run resumes close to the kill."""
    mes.generate(mes_url, orders=2500, materials=2500)
    glassdome.faults(hold_after=HOLD_AFTER)
    env = {
        **flow_env,
        "TARGET_GLASSDOME_BATCH_SIZE_ROWS": "400",
        "TARGET_GLASSDOME_MAX_CONCURRENCY": "1",
        "TARGET_GLASSDOME_REQUEST_SIZE": "100",
    }
    tap = dumped_config("tap-mes", env, tmp_path / "tap.json")
    target = dumped_config("target-glassdome", env, tmp_path / "target.json")
    catalog = PROJECT_ROOT / "meltano/catalogs/tap-mes.glassdome.json"
    state_out = tmp_path / "state.jsonl"
    command = (
        f"{VENV_BIN}/tap-mes --config {tap} --catalog {catalog}"
        f" | {VENV_BIN}/target-glassdome --config {target} > {state_out}"
    )
    process = subprocess.Popen(["bash", "-c", command], env=env, text=True)
    _kill_target_once_writing(process, glassdome)
    process.wait(60)
    glassdome.faults()

    states = [json.loads(line) for line in state_out.read_text().splitlines() if line.strip()]
    assert states, "the target emitted no STATE before it was killed"
    bookmark = states[-1]["bookmarks"]["material_latest"]["replication_key_value"]
    delivered = glassdome.products()
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        cur.execute(LATEST_PER_MATERIAL + " WHERE latest < %s", (bookmark,))
        covered = {row[0] for row in cur.fetchall()}
    conn.close()
    assert len(covered) >= 900  # the tap emits its first bookmark after 1,000 rows
    assert covered <= set(delivered)  # never ahead
    assert len(delivered) < 2508
