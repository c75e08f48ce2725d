"""The sandbox itself: every server healthy, seeds present, up twice harmless, down leaves nothing."""

from __future__ import annotations

import datetime as dt

import psutil
import psycopg2
import pymongo
import pytest

import sandbox
from sandbox import mes, tracos
from sandbox.settings import SandboxConfig
from tests.conftest import sandbox_root


def test_every_server_is_healthy(sandbox_cfg: SandboxConfig) -> None:
    rows = sandbox.status(sandbox_cfg)
    assert [r.name for r in rows if not r.healthy] == []
    assert all(r.pid for r in rows)


def test_up_twice_is_harmless(sandbox_cfg: SandboxConfig) -> None:
    pids = {r.name: r.pid for r in sandbox.status(sandbox_cfg)}
    sandbox.up(sandbox_cfg)
    assert {r.name: r.pid for r in sandbox.status(sandbox_cfg)} == pids
    with psycopg2.connect(sandbox_cfg.postgres_url("glassdome")) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM products WHERE external_id = 'MAT-1001'")
        assert cur.fetchone()[0] == 1
    conn.close()


def test_mes_seed_holds_the_hard_cases(sandbox_cfg: SandboxConfig) -> None:
    with psycopg2.connect(sandbox_cfg.postgres_url("mes")) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(deleted_at), count(DISTINCT material_number) FROM production_orders"
        )
        assert cur.fetchone() == (12, 1, 8)
        cur.execute("SELECT vkorg, status FROM mvke WHERE matnr = 'MAT-1002' ORDER BY vkorg")
        assert cur.fetchall() == [("1000", "ACTIVE"), ("2000", "INACTIVE")]
        cur.execute(
            "SELECT DISTINCT status FROM production_orders WHERE status <> upper(trim(status))"
        )
        assert {"active", "ACTIVE ", "released", "blocked", "Active  "} <= {
            r[0] for r in cur.fetchall()
        }
        cur.execute("SELECT count(*) FROM mara")
        assert cur.fetchone()[0] == 8
        cur.execute("SELECT count(*) FROM makt")
        assert cur.fetchone()[0] == 9
        cur.execute("SELECT count(*) FROM marm")
        assert cur.fetchone()[0] == 3
    conn.close()


def test_order_generator_appends_with_copy(sandbox_cfg: SandboxConfig) -> None:
    url = sandbox_cfg.postgres_url("mes")
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM production_orders")
        before = cur.fetchone()[0]
    assert mes.generate(url, 5_000, 500) == (5_000, 500)
    assert mes.generate(url, 1_000) == (1_000, 100)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT order_id) FROM production_orders")
        total, distinct = cur.fetchone()
        assert total == distinct == before + 6_000
        cur.execute("SELECT count(*) FROM mara WHERE matnr LIKE 'GEN-%'")
        assert cur.fetchone()[0] == 600
        cur.execute(
            "SELECT count(*) FROM production_orders o LEFT JOIN mvke v ON v.matnr = o.material_number"
            " WHERE o.order_id > %s AND v.matnr IS NULL",
            (mes.GENERATED_ORDER_BASE,),
        )
        assert cur.fetchone()[0] == 0  # every generated order has its material's sales row
        cur.execute(
            "DELETE FROM production_orders WHERE order_id > %s", (mes.GENERATED_ORDER_BASE,)
        )
        cur.execute("DELETE FROM mvke WHERE matnr LIKE 'GEN-%'")
        cur.execute("DELETE FROM mara WHERE matnr LIKE 'GEN-%'")
    conn.close()


def test_mongo_round_trip_through_pymongo(sandbox_cfg: SandboxConfig) -> None:
    client: pymongo.MongoClient = pymongo.MongoClient(sandbox_cfg.mongo_uri, tz_aware=True)
    try:
        workorders = client.get_default_database()["workorders"]
        assert workorders.count_documents({"isSynced": False}) >= 10
        assert workorders.find_one({"number": 1})["status"] in tracos.TRACOS_STATUSES
        scratch = client.get_default_database()["scratch"]
        when = dt.datetime(2025, 5, 1, 12, 30, tzinfo=dt.UTC)
        scratch.insert_one({"number": 1, "at": when})
        scratch.update_one({"number": 1}, {"$set": {"seen": True}})
        assert scratch.find_one({"number": 1}, {"_id": 0}) == {
            "number": 1,
            "at": when,
            "seen": True,
        }
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            workorders.insert_one({"number": 1})
    finally:
        client.close()


def test_inbound_folder_holds_ten_erp_files(sandbox_cfg: SandboxConfig) -> None:
    assert sandbox_cfg.inbound_dir is not None
    files = sorted(sandbox_cfg.inbound_dir.glob("*.json"))
    assert len(files) == 10


def test_down_leaves_no_process_behind() -> None:
    cfg = SandboxConfig.ephemeral(sandbox_root())
    sandbox.up(cfg)
    pids = [r.pid for r in sandbox.status(cfg)]
    assert all(pids)
    family = [
        p
        for pid in pids
        for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    ]
    sandbox.down(cfg)
    _, alive = psutil.wait_procs(family, timeout=15)
    assert alive == []
    assert not any(r.healthy for r in sandbox.status(cfg))
