"""What Dagster adds to a job: `meltano run glassdome` alone vs the same job materialised by
Dagster in-process (Pipes subprocess, summary metadata), and the definitions' load time.

Prints, each as the median of ROUNDS no-op incremental runs on an ephemeral sandbox:
- `meltano run glassdome` wall time;
- `dagster.materialize([glassdome asset])` wall time, and the difference (Dagster's share);
- loading `orchestrate.definitions` in a fresh interpreter, with the meltano lists cached
  (every run and step process does this) and without (the first load after a yml change).

Run: `.venv/bin/python benchmarks/bench_dagster.py [rounds]`.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sandbox
from sandbox.settings import PROJECT_ROOT, SandboxConfig

VENV_BIN = Path(sys.executable).parent
LOAD = "import orchestrate.definitions"


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    root = Path(tempfile.mkdtemp(prefix="bench-dagster-"))
    cfg = SandboxConfig.ephemeral(root)
    sandbox.up(cfg)
    try:
        os.environ.update(
            {
                **cfg.env,
                "MELTANO_ENVIRONMENT": "prod",
                "MELTANO_DATABASE_URI": f"sqlite:///{root / 'meltano.db'}",
                "DEAD_LETTER_DIR": str(root / "dead-letter"),
            }
        )
        import dagster as dg

        from orchestrate.definitions import meltano_job_asset

        def meltano_run() -> None:
            subprocess.run(
                [str(VENV_BIN / "meltano"), "run", "glassdome"],
                cwd=PROJECT_ROOT,
                capture_output=True,
                check=True,
            )

        asset = meltano_job_asset("glassdome")
        resources = {"pipes": dg.PipesSubprocessClient(forward_stdio=False)}

        def materialize() -> None:
            with dg.DagsterInstance.ephemeral() as instance:
                assert dg.materialize([asset], resources=resources, instance=instance).success

        def load(cached: bool) -> None:
            if not cached:
                shutil.rmtree(PROJECT_ROOT / ".meltano" / "orchestrate", ignore_errors=True)
            subprocess.run([sys.executable, "-c", LOAD], cwd=PROJECT_ROOT, check=True)

        meltano_run()  # the first (full) run; the rounds are no-op incremental runs
        plain = statistics.median(timed(meltano_run) for _ in range(rounds))
        dagster = statistics.median(timed(materialize) for _ in range(rounds))
        uncached = statistics.median(timed(lambda: load(False)) for _ in range(rounds))
        cached = statistics.median(timed(lambda: load(True)) for _ in range(rounds))
        print(f"meltano run glassdome (no-op)      {plain:6.2f} s")
        print(f"dagster materialize, same job      {dagster:6.2f} s  (+{dagster - plain:.2f} s)")
        print(f"load definitions, lists cached     {cached:6.2f} s")
        print(f"load definitions, first after edit {uncached:6.2f} s")
        print(f"load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    finally:
        sandbox.down(cfg)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
