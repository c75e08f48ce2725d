"""`make dagster`: the Dagster webserver and daemon on this machine, over the same jobs.

As `make sync` does, the local sandbox is brought up first unless MELTANO_ENVIRONMENT=prod,
and its connection values fill in only what the shell has not set. Runs, schedules' ticks and
logs are kept under .dagster/ (DAGSTER_HOME) so they survive a restart.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ops.sync import PROJECT_ROOT, meltano_env


def main() -> int:
    env = meltano_env()
    if env.get("MELTANO_ENVIRONMENT") != "prod":
        import sandbox

        cfg = sandbox.SandboxConfig.from_env()
        sandbox.up(cfg)
        env = {**cfg.env, **env}
    home = Path(env.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / ".dagster")))
    home.mkdir(parents=True, exist_ok=True)
    dagster = str(Path(sys.executable).with_name("dagster"))
    port = env.get("DAGSTER_PORT", "3000")
    argv = [dagster, "dev", "-m", "orchestrate.definitions", "-h", "127.0.0.1", "-p", port]
    try:
        return subprocess.run(argv, cwd=PROJECT_ROOT, env=env, check=False).returncode
    except KeyboardInterrupt:  # Ctrl-C reached dagster dev too; it stops its own processes
        return 0


if __name__ == "__main__":
    sys.exit(main())
