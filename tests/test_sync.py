"""`make sync` end to end: every meltano job, in the prod wiring, against a sandbox of its own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import sandbox
from sandbox.settings import PROJECT_ROOT, SandboxConfig
from tests.conftest import run_meltano, sandbox_root


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[SandboxConfig]:
    root = sandbox_root()
    cfg = SandboxConfig.ephemeral(root)
    sandbox.up(cfg)
    yield cfg
    sandbox.down(cfg)
    shutil.rmtree(root, ignore_errors=True)


def test_sync_runs_every_job_and_summarises(
    own_sandbox: SandboxConfig, meltano_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **meltano_env,
        **own_sandbox.env,
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "PARTNER_FEEDS_DIR": str(own_sandbox.root / "data" / "partner_feeds"),
        "PARTNER_FEEDS_ARCHIVE_DIR": str(tmp_path / "archive"),
    }
    listed = run_meltano("job", "list", "--format=json", env=env)
    jobs = {job["job_name"] for job in json.loads(listed.stdout)["jobs"]}
    assert {
        "glassdome",
        "tracos-inbound",
        "tracos-outbound",
        "mes-warehouse",
        "customers",
        "offers",
        "partner-feeds",
    } <= jobs

    result = subprocess.run(
        [sys.executable, "-m", "ops.sync"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    summary = result.stderr[result.stderr.rfind("sync summary") :]
    assert result.returncode == 0, summary or result.stderr[-3000:]
    assert f"{len(jobs)}/{len(jobs)} jobs ok" in summary
    for job in jobs:
        assert re.search(rf"^\s+{re.escape(job)}\s+ok\s", summary, re.MULTILINE), summary
    # the first lines: the environment, then where each connection points (no credentials)
    first = result.stderr.splitlines()[:12]
    assert "sync start environment=prod" in first[0], first
    mongo = own_sandbox.mongo_uri
    assert any(f"variable=MONGO_URI to={mongo} source=exported" in line for line in first), first
    assert any("variable=GLASSDOME_API_KEY to=(secret)" in line for line in first), first
    assert env["GLASSDOME_API_KEY"] not in result.stderr
    # one run id ties every job's log lines together
    assert len(set(re.findall(r"run_id=(\w+) job (?:start|end)", result.stderr))) == 1
