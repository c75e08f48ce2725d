"""Dead-letter replay against the real sandbox: a real failing run, the cause fixed, replay.

For each target: what was delivered leaves the dead-letter file for the replayed archive,
what still fails stays with its new reason, the replay is in the run history, and a second
replay delivers nothing twice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pytest
import requests
from pymongo import MongoClient

from ops import replay
from ops.report import history
from sandbox.settings import PROJECT_ROOT
from tests.conftest import VENV_BIN, run_meltano
from tests.glassdome.conftest import API_KEY, flow_env, glassdome, meltano_run, mes_url
from tests.target_postgres.conftest import query, schema, warehouse_url

__all__ = ["flow_env", "glassdome", "mes_url", "schema", "warehouse_url"]

pytestmark = pytest.mark.e2e


def invoke(target: str, env: dict[str, str], stdin: str) -> subprocess.CompletedProcess[str]:
    """`meltano invoke <target>` over Singer messages: a real run of the target."""
    return subprocess.run(
        [str(VENV_BIN / "meltano"), "invoke", target],
        input=stdin,
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def cli_replay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m ops.replay ...` as an operator types it."""
    return subprocess.run(
        [sys.executable, "-m", "ops.replay", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def jsonl(path: Path) -> list[dict[str, Any]]:
    return replay.read_entries(path)


def test_glassdome_sku_conflict_fixed_then_replayed_once(
    flow_env: dict[str, str], glassdome: Any, mes_url: str, tmp_path: Path
) -> None:
    env = {**flow_env, "REPORTS_DIR": str(tmp_path / "reports")}
    # Glassdome already gives MAT-1001's sku to another product; MAT-9001 has a status
    # Glassdome does not know.
    glassdome.insert([{"id": "EXT-HOLDER", "sku": "SKU-ALPHA-NEW", "status": "ACTIVE"}])
    with psycopg2.connect(mes_url) as conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO production_orders (order_id, material_number, sku, status, quantity,"
            " plant, updated_at) VALUES (990001, 'MAT-9001', 'SKU-ODD', 'on ice', 1, 'P1',"
            " now() + interval '3 days')"
        )
    conn.close()
    run = meltano_run("glassdome", env=env)
    assert run.returncode != 0  # fail_on_rejects
    dead = Path(env["DEAD_LETTER_DIR"]) / "glassdome.jsonl"
    before = {e["record"]["id"]: e for e in jsonl(dead)}
    assert "sku SKU-ALPHA-NEW held by EXT-HOLDER" in before["MAT-1001"]["reason"]
    assert before["MAT-9001"]["record"]["status"] is None
    assert glassdome.products()["MAT-1001"][0] != "SKU-ALPHA-NEW"

    # The operator moves the holder to another sku, then replays.
    requests.patch(
        f"{glassdome.url}/products",
        json=[{"id": "EXT-HOLDER", "sku": "SKU-HOLDER-OLD"}],
        headers={"X-API-Key": API_KEY},
        timeout=10,
    ).raise_for_status()
    outcome = replay.replay("glassdome", env=env)
    assert outcome.selected == len(before)
    assert [e["record"]["id"] for e in outcome.delivered] == ["MAT-1001"]
    assert glassdome.products()["MAT-1001"] == ("SKU-ALPHA-NEW", "ACTIVE")
    left = {e["record"]["id"]: e for e in jsonl(dead)}
    assert "MAT-1001" not in left
    assert left["MAT-9001"]["reason"].startswith("invalid status")
    assert left["MAT-9001"]["replays"] == 1
    assert left["MAT-9001"]["first_rejected_at"] == before["MAT-9001"]["rejected_at"]
    archived = jsonl(replay.archive_file(dead))
    assert [(e["record"]["id"], e["result"]) for e in archived] == [("MAT-1001", "delivered")]
    runs = history(tmp_path / "reports")
    assert [j.job for r in runs for j in r.jobs] == ["replay-glassdome"]
    assert runs[0].jobs[0].read == len(before)

    # Again, as the meltano utility command: the delivered entry is not sent twice.
    stamp = {r[0]: r[2] for r in glassdome.rows()}["MAT-1001"]
    again = run_meltano("invoke", "ops:replay", "glassdome", env=env)
    assert again.returncode == 1, again.stderr[-2000:]  # MAT-9001 still fails
    assert f"{len(left)} selected, 0 delivered, {len(left)} still failing" in again.stdout
    assert {r[0]: r[2] for r in glassdome.rows()}["MAT-1001"] == stamp
    assert len(jsonl(replay.archive_file(dead))) == 1
    by_id = replay.replay("glassdome", ids=[replay.entry_id(before["MAT-1001"])], env=env)
    assert by_id.selected == 0


def test_warehouse_constraint_lifted_then_replayed(
    meltano_env: dict[str, str], warehouse_url: str, schema: str, tmp_path: Path
) -> None:
    env = {
        **meltano_env,
        "WAREHOUSE_DATABASE_URL": warehouse_url,
        "TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA": schema,
        "REPORTS_DIR": str(tmp_path / "reports"),
    }
    # The warehouse refuses negative quantities (a rule the DBA added, later lifted).
    query(warehouse_url, f'CREATE SCHEMA "{schema}"')
    query(
        warehouse_url,
        f'CREATE TABLE "{schema}".production_orders (order_id bigint PRIMARY KEY,'
        " material_number text, sku text, status text, quantity numeric(13,3)"
        " CONSTRAINT quantity_positive CHECK (quantity >= 0), plant text,"
        " created_at timestamptz, updated_at timestamptz, deleted_at timestamptz)",
    )
    rows = [
        {"order_id": i, "material_number": f"M{i}", "sku": "S", "status": "active",
         "quantity": q, "plant": "P1", "created_at": "2026-01-01T00:00:00+00:00",
         "updated_at": "2026-01-01T00:00:00+00:00", "deleted_at": None}
        for i, q in ((1, 5), (2, -1), (3, 7), (4, -2))
    ]  # fmt: skip
    flow = replay.flow_named("warehouse")
    entries = [{"stream": "production_orders", "record": r} for r in rows]
    run = invoke("target-postgres", env, replay.singer_messages(flow, entries))
    assert run.returncode != 0  # fail_on_rejects
    dead = Path(env["DEAD_LETTER_DIR"]) / "warehouse.jsonl"
    assert sorted(e["record"]["order_id"] for e in jsonl(dead)) == [2, 4]
    assert query(
        warehouse_url, f'SELECT order_id FROM "{schema}".production_orders ORDER BY 1'
    ) == [(1,), (3,)]

    query(
        warehouse_url, f'ALTER TABLE "{schema}".production_orders DROP CONSTRAINT quantity_positive'
    )
    cli = cli_replay(env, "target-postgres")
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert "warehouse: 2 selected, 2 delivered, 0 still failing" in cli.stdout
    assert query(
        warehouse_url, f'SELECT order_id, quantity FROM "{schema}".production_orders ORDER BY 1'
    ) == [(1, 5), (2, -1), (3, 7), (4, -2)]
    assert jsonl(dead) == []
    assert len(jsonl(replay.archive_file(dead))) == 2
    assert replay.replay("warehouse", env=env).selected == 0
    assert [j.job for r in history(tmp_path / "reports") for j in r.jobs] == ["replay-warehouse"]


def test_tracos_config_fixed_then_replayed(meltano_env: dict[str, str], tmp_path: Path) -> None:
    database = f"replay_{uuid.uuid4().hex[:8]}"
    uri = meltano_env["MONGO_URI"].rsplit("/", 1)[0] + f"/{database}"
    env = {**meltano_env, "MONGO_URI": uri, "REPORTS_DIR": str(tmp_path / "reports")}
    orders = [
        {"number": n, "status": "pending", "title": f"WO {n}", "description": None,
         "createdAt": "2026-01-01T00:00:00+00:00", "updatedAt": "2026-01-02T00:00:00+00:00",
         "deleted": False, "deletedAt": None}
        for n in (1, 2)
    ]  # fmt: skip
    flow = replay.flow_named("tracos")
    entries = [{"stream": "workorders", "record": r} for r in orders]
    # A wrong version field in the configuration: every record is refused.
    bad = {**env, "TARGET_TRACOS_VERSION_PROPERTY": "modifiedAt"}
    run = invoke("target-tracos", bad, replay.singer_messages(flow, entries))
    dead = Path(env["DEAD_LETTER_DIR"]) / "target-tracos.jsonl"
    assert [e["reason"] for e in jsonl(dead)] == ["missing number or modifiedAt"] * 2, run.stderr[
        -2000:
    ]

    cli = cli_replay(env, "tracos")  # today's configuration: the default version field
    assert cli.returncode == 0, cli.stderr[-2000:]
    assert "tracos: 2 selected, 2 delivered, 0 still failing" in cli.stdout
    client: MongoClient[dict[str, Any]] = MongoClient(uri)
    try:
        stored = {d["number"]: d["title"] for d in client[database]["workorders"].find()}
        assert stored == {1: "WO 1", 2: "WO 2"}
        assert replay.replay("target-tracos", env=env).selected == 0
        assert client[database]["workorders"].count_documents({}) == 2
    finally:
        client.drop_database(database)
        client.close()
    assert json.loads(json.dumps(jsonl(replay.archive_file(dead))))[0]["result"] == "delivered"
