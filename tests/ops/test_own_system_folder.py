"""Overlapping meltano runs of one tap (a job's tenants under Dagster) keep their catalogs apart."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ops.sync import MELTANO, PROJECT_ROOT, own_system_folder


def test_the_system_database_stays_where_it_was() -> None:
    env = own_system_folder({"PATH": "/bin"}, "/tmp/run-1")
    assert env["MELTANO_SYS_DIR_ROOT"] == "/tmp/run-1"
    assert env["MELTANO_DATABASE_URI"] == f"sqlite:///{PROJECT_ROOT}/.meltano/meltano.db"
    moved = own_system_folder({"MELTANO_SYS_DIR_ROOT": "/srv/meltano"}, "/tmp/run-2")
    assert moved["MELTANO_DATABASE_URI"] == "sqlite:////srv/meltano/meltano.db"
    kept = own_system_folder({"MELTANO_DATABASE_URI": "postgresql://db/meltano"}, "/tmp/run-3")
    assert kept["MELTANO_DATABASE_URI"] == "postgresql://db/meltano"


def test_overlapping_runs_of_one_tap_each_write_their_own_catalog(
    meltano_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "inbound").mkdir()
    base = {
        **meltano_env,
        "DATA_INBOUND_DIR": str(tmp_path / "inbound"),
        "DATA_OUTBOUND_DIR": str(tmp_path / "outbound"),
    }
    subprocess.run([MELTANO, "state", "list"], cwd=PROJECT_ROOT, env=base, check=True)  # the db

    def run(tenant: str) -> subprocess.CompletedProcess[str]:
        command = ["run", "--state-id-suffix", tenant, "tap-client-json", "target-client-json"]
        return subprocess.run(
            [MELTANO, *command],
            cwd=PROJECT_ROOT,
            env=own_system_folder(base, tmp_path / tenant),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, ["acme", "globex"]))

    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
    for tenant in ("acme", "globex"):
        assert (tmp_path / tenant / "run" / "tap-client-json" / "tap.properties.json").is_file()
    # the state of both went to the one system database
    listed = subprocess.run(
        [MELTANO, "state", "list"],
        cwd=PROJECT_ROOT,
        env=base,
        capture_output=True,
        text=True,
        check=True,
    )
    states = listed.stdout.split()
    assert {s.rsplit(":", 1)[-1] for s in states if s.startswith("prod:")} >= {"acme", "globex"}
