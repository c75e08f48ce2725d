"""The seed's variables win over the sandbox in the default (dev) environment; prod has no defaults.

Run as the TracOS seed tells a user to: export MONGO_URI, DATA_INBOUND_DIR, DATA_OUTBOUND_DIR,
then `meltano run tracos-inbound tracos-outbound` (no --environment, no MELTANO_ENVIRONMENT).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pymongo
import pytest

from sandbox.settings import SandboxConfig
from tests.conftest import run_meltano
from tests.tracos.conftest import FIXTURES, OwnMongo, make_flow

pytestmark = pytest.mark.e2e


def sandbox_state(cfg: SandboxConfig) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """The sandbox's TracOS documents and ERP folders, to show nothing there moved."""
    with pymongo.MongoClient(cfg.mongo_uri, serverSelectionTimeoutMS=5000) as client:
        docs = list(client.get_default_database()["workorders"].find().sort("number"))
    assert cfg.inbound_dir
    assert cfg.outbound_dir
    return (
        docs,
        sorted(p.name for p in cfg.inbound_dir.rglob("*")),
        sorted(p.name for p in cfg.outbound_dir.rglob("*")),
    )


def test_seed_variables_win_over_the_sandbox(
    dev_env: dict[str, str], sandbox_cfg: SandboxConfig, own_mongo: OwnMongo, tmp_path: Path
) -> None:
    assert "MELTANO_ENVIRONMENT" not in dev_env
    flow = make_flow(dev_env, tmp_path, own_mongo.cfg.port("mongo"))  # a second Mongo server
    flow.seed_tracos()  # 10 unsynced work orders to export
    flow.seed_erp_files()  # 3 ERP files to import
    before = sandbox_state(sandbox_cfg)

    result = run_meltano("run", "tracos-inbound", "tracos-outbound", env=flow.env, timeout=180)

    assert result.returncode == 0, result.stderr[-4000:]
    docs = flow.documents()
    assert sorted(docs) == [*range(1, 11), *range(101, 111)]  # imported into the second Mongo
    assert all(doc["isSynced"] is True for doc in docs.values())  # exported and acknowledged
    expected = sorted(p.name for p in (FIXTURES / "expected_outbound").glob("*.json"))
    assert sorted(flow.outbound_files()) == expected  # written to the exported folder
    assert sandbox_state(sandbox_cfg) == before
    # the log says which environment runs and where each plugin's connections point
    log = result.stderr
    assert any("Environment 'dev' is active" in line for line in log.splitlines()[:4]), log
    second = f"mongodb://127.0.0.1:{own_mongo.cfg.port('mongo')}/{flow.mongo_uri.rsplit('/', 1)[1]}"
    for plugin in ("tap-tracos", "target-tracos"):
        assert f"connections plugin={plugin} environment=dev mongo_uri={second}" in log, log
    assert f"connections plugin=tap-client-json environment=dev inbound_dir={flow.inbound}" in log
    flow.client.close()


def test_prod_without_mongo_uri_stops_before_any_plugin(
    meltano_env: dict[str, str], tmp_path: Path
) -> None:
    inbound = tmp_path / "inbound"
    inbound.mkdir()
    (inbound / "101.json").write_bytes((FIXTURES / "erp_inbound" / "101.json").read_bytes())
    env = {
        **{k: v for k, v in meltano_env.items() if k != "MONGO_URI"},
        "DATA_INBOUND_DIR": str(inbound),
        "DATA_OUTBOUND_DIR": str(tmp_path / "outbound"),
    }
    assert env["MELTANO_ENVIRONMENT"] == "prod"
    assert "MONGO_URI" not in env

    result = run_meltano("run", "tracos-inbound", "tracos-outbound", env=env, timeout=120)

    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, result.stderr[-3000:]
    assert "MONGO_URI" in errors[0]
    assert "connections plugin=" not in result.stderr  # no plugin started
    assert "Traceback" not in result.stderr
    assert [p.name for p in inbound.iterdir()] == ["101.json"]  # nothing quarantined
    assert not (tmp_path / "outbound").exists()  # target-client-json never started
