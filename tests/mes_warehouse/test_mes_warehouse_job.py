"""`meltano run mes-warehouse` end to end: the real CLI, prod environment, test sandbox."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_meltano
from tests.mes_warehouse.conftest import fingerprint


def test_mes_warehouse_job_copies_the_mes_tables_and_reruns_cleanly(
    meltano_env: dict[str, str], source_url: str, warehouse_url: str, tmp_path: Path
) -> None:
    batches = tmp_path / "batches"
    env = {
        **meltano_env,
        "MES_DATABASE_URL": source_url,
        "TAP_MES_BULK_BATCH_CONFIG": json.dumps(
            {
                "encoding": {"format": "parquet"},
                "storage": {"root": str(batches)},
                "batch_size": 8_000,
            }
        ),
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
