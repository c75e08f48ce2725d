"""`meltano run mes-warehouse` end to end: the real CLI, prod environment, test sandbox."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sandbox.settings import PROJECT_ROOT
from tests.conftest import run_meltano
from tests.mes_warehouse.conftest import fingerprint


def test_mes_warehouse_job_copies_the_mes_tables_and_reruns_cleanly(
    meltano_env: dict[str, str], source_url: str, warehouse_url: str, tmp_path: Path
) -> None:
    batches = tmp_path / "batches"
    env = {
        **meltano_env,
        "MES_DATABASE_URL": source_url,
        "TAP_MES_BULK_BATCH_CONFIG_STORAGE_ROOT": str(batches),
        "TAP_MES_BULK_BATCH_CONFIG_BATCH_SIZE": "8000",
    }
    for attempt in range(2):  # the second run starts from the bookmarks: still exact
        done = run_meltano("run", "mes-warehouse", env=env)
        assert done.returncode == 0, done.stderr[-4000:]
        for table in ("production_orders", "mara", "mvke", "makt"):
            assert fingerprint(warehouse_url, f"mes.{table}") == fingerprint(source_url, table), (
                attempt,
                table,
            )
        assert list(batches.iterdir()) == []
    assert "event=batch_loaded" in done.stderr


def test_the_committed_warehouse_catalog_matches_discovery(source_url: str, tmp_path: Path) -> None:
    config = tmp_path / "tap.json"
    config.write_text(json.dumps({"sqlalchemy_url": source_url, "custom_streams": []}))
    done = subprocess.run(
        [str(Path(sys.executable).parent / "tap-mes"), "--config", str(config), "--discover"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    discovered = {s["tap_stream_id"]: s["schema"] for s in json.loads(done.stdout)["streams"]}
    committed = json.loads((PROJECT_ROOT / "meltano/catalogs/tap-mes.warehouse.json").read_text())
    assert {s["tap_stream_id"]: s["schema"] for s in committed["streams"]} == discovered
    for stream in committed["streams"]:
        (top,) = [m for m in stream["metadata"] if m["breadcrumb"] == []]
        assert top["metadata"]["selected"] is True, stream["tap_stream_id"]
