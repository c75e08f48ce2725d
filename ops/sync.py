"""Run every meltano job once and print one summary line per job.

Without MELTANO_ENVIRONMENT=prod the local sandbox is brought up first, so a fresh
clone syncs with nothing configured; its URLs fill only the variables nobody exported.
The first lines say which environment runs and where each connection points. Exit code is
non-zero if any job failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from connector_kit import logs

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MELTANO = str(Path(sys.executable).with_name("meltano"))
# Jobs that feed others run first; jobs not listed here run after, in meltano's order.
PREFERRED_ORDER = (
    "tracos-inbound",
    "tracos-outbound",
    "glassdome",
    "mes-warehouse",
    "customers",
    "offers",
    "partner-feeds",
)
log = logging.getLogger("ops.sync")


@dataclass
class JobResult:
    name: str
    exit_code: int
    seconds: float


def meltano_env() -> dict[str, str]:
    env = {
        **os.environ,
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.setdefault("UV_COMPILE_BYTECODE", "1")
    env.setdefault("CONNECTOR_RUN_ID", logs.RUN_ID)  # one run id across every job of a sync
    return env


def connection_variables() -> dict[str, bool]:
    """The seed variables the plugins read (their settings' env_aliases) -> sensitive or not."""
    found: dict[str, bool] = {}
    for path in sorted((PROJECT_ROOT / "meltano").glob("*.meltano.yml")):
        plugins = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("plugins", {})
        for plugin in (p for kind in plugins.values() for p in kind):
            for setting in plugin.get("settings", []):
                for var in setting.get("env_aliases", []):
                    found[var] = found.get(var, False) or bool(setting.get("sensitive"))
    return found


def log_connections(env: dict[str, str], sandbox_env: dict[str, str]) -> None:
    """Where each connection points (host and database or folder; never credentials)."""
    for var, sensitive in connection_variables().items():
        value = env.get(var, "")
        if var in os.environ:
            source = "exported"
        elif var in sandbox_env:
            source = "sandbox"
        else:
            source = "unset"
        shown = logs.endpoint(value) if "://" in value or not sensitive else "(secret)"
        log.info("connection %s", logs.kv(variable=var, to=shown if value else "-", source=source))


def job_names(env: dict[str, str]) -> list[str]:
    out = subprocess.run(
        [MELTANO, "job", "list", "--format=json"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = [
        job["job_name"] if isinstance(job, dict) else job for job in json.loads(out).get("jobs", [])
    ]
    rank = {name: i for i, name in enumerate(PREFERRED_ORDER)}
    return sorted(names, key=lambda n: rank.get(n, len(rank)))


def run_job(name: str, env: dict[str, str], environment: str | None) -> JobResult:
    argv = [MELTANO, *(["--environment", environment] if environment else []), "run", name]
    log.info("job start %s", logs.kv(job=name))
    started = time.perf_counter()
    code = subprocess.run(argv, cwd=PROJECT_ROOT, env=env, check=False).returncode
    result = JobResult(name, code, time.perf_counter() - started)
    level = logging.INFO if code == 0 else logging.ERROR
    log.log(level, "job end %s", logs.kv(job=name, exit_code=code, seconds=f"{result.seconds:.1f}"))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.sync", description=__doc__)
    parser.add_argument("jobs", nargs="*", help="run only these jobs (default: all)")
    args = parser.parse_args(argv)
    logs.configure()
    env = meltano_env()
    environment = env.get("MELTANO_ENVIRONMENT")
    log.info("sync start %s", logs.kv(environment=environment or "dev (default)"))
    sandbox_env: dict[str, str] = {}
    if environment != "prod":
        import sandbox

        cfg = sandbox.SandboxConfig.from_env()
        sandbox.up(cfg)
        sandbox_env = cfg.env
        env = {**sandbox_env, **env}  # what the user exported wins
        log.info("sandbox ready %s", logs.kv(root=cfg.root))
    log_connections(env, sandbox_env)
    names = args.jobs or job_names(env)
    if not names:
        log.warning("no jobs defined in meltano.yml")
        return 0
    results = [run_job(name, env, environment) for name in names]
    print("\nsync summary", file=sys.stderr)
    for r in results:
        print(
            f"  {r.name:18} {'ok' if r.exit_code == 0 else f'FAILED ({r.exit_code})':12} {r.seconds:7.1f}s",
            file=sys.stderr,
        )
    failed = [r.name for r in results if r.exit_code != 0]
    print(f"  {len(results) - len(failed)}/{len(results)} jobs ok", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
