"""Run every meltano job once, then print the run report and save it under reports/.

Without MELTANO_ENVIRONMENT=prod the local sandbox is brought up first, so a fresh
clone syncs with nothing configured; its URLs fill only the variables nobody exported.
The first lines say which environment runs and where each connection points. Exit code is
non-zero if any job failed. Each job's figures come from its plugins' `summary` lines
(ops.report).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from connector_kit import logs

from ops import cadence, check_config
from ops.report import JobReport, RunReport

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


def meltano_env() -> dict[str, str]:
    env = {
        **os.environ,
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.setdefault("UV_COMPILE_BYTECODE", "1")
    env.setdefault("CONNECTOR_RUN_ID", logs.RUN_ID)  # one run id across every job of a sync
    return env


def own_system_folder(env: dict[str, str], folder: str | Path) -> dict[str, str]:
    """`env` for a meltano run that may overlap a run of the same tap (Dagster runs a job's
    tenants at once). meltano writes a tap's catalog to one path per system folder
    (`.meltano/run/<tap>/tap.properties.json`; meltano issue 8763), where overlapping runs read
    each other's half-written file. This run gets `folder` as its own system folder and keeps
    the project's system database (its state and run history)."""
    shared = env.get("MELTANO_SYS_DIR_ROOT") or str(PROJECT_ROOT / ".meltano")
    database = env.get("MELTANO_DATABASE_URI") or f"sqlite:///{shared}/meltano.db"
    return {**env, "MELTANO_SYS_DIR_ROOT": str(folder), "MELTANO_DATABASE_URI": database}


def connection_variables() -> dict[str, bool]:
    """The seed variables the plugins read (their settings' env_aliases) -> sensitive or not."""
    found: dict[str, bool] = {}
    config = check_config.project_config()
    for plugin in (p for kind in config["plugins"].values() for p in kind):
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


def run_job(name: str, env: dict[str, str], environment: str | None) -> JobReport:
    """`meltano run <job>`, its log passed through; its plugins' summary lines collected."""
    argv = [MELTANO, *(["--environment", environment] if environment else []), "run", name]
    log.info("job start %s", logs.kv(job=name))
    started = time.perf_counter()
    summaries = []
    with subprocess.Popen(
        argv, cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE, text=True, errors="replace"
    ) as job:
        assert job.stderr is not None
        for line in job.stderr:
            sys.stderr.write(line)
            if (fields := logs.parse_summary(line)) is not None:
                summaries.append(fields)
    code = job.returncode
    result = JobReport.from_summaries(name, code, time.perf_counter() - started, summaries)
    level = logging.INFO if code == 0 else logging.ERROR
    log.log(level, "job end %s", logs.kv(job=name, exit_code=code, seconds=f"{result.seconds:.1f}"))
    return result


def due(names: list[str], env: dict[str, str], environment: str) -> list[str]:
    """Those of `names` whose schedule is due now (ops.cadence)."""
    plan = cadence.schedules(MELTANO, env)
    now = dt.datetime.now(dt.UTC)
    with cadence.LastSuccess(environment) as last:
        last_success = {job: last.get(job) for job in {s.job for s in plan}}
    chosen = set(cadence.due_jobs(plan, last_success, now))
    picked = [n for n in names if n in chosen]
    log.info("due jobs %s", logs.kv(jobs=",".join(picked) or "none", scheduled=len(plan)))
    return picked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.sync", description=__doc__)
    parser.add_argument("jobs", nargs="*", help="run only these jobs (default: all)")
    parser.add_argument(
        "--due",
        action="store_true",
        help="only the jobs whose meltano.yml schedule fired since their last successful run",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the jobs that would run, run nothing"
    )
    args = parser.parse_args(argv)
    logs.configure()
    env = meltano_env()
    environment = env.get("MELTANO_ENVIRONMENT")
    if environment == "prod" and (problem := cadence.durable_state_problem()):
        log.error("sync refused %s", logs.kv(reason=problem))
        return 2
    log.info("sync start %s", logs.kv(environment=environment or "dev (default)"))
    names = [n for n in job_names(env) if not args.jobs or n in args.jobs]
    if args.due:
        names = due(names, env, environment or "dev")
    if args.dry_run:
        print("\n".join(names))
        return 0
    if not names:
        log.info("nothing to run %s", logs.kv(due_only=args.due))
        return 0
    sandbox_env: dict[str, str] = {}
    if environment != "prod":
        import sandbox

        cfg = sandbox.SandboxConfig.from_env()
        sandbox.up(cfg)
        sandbox_env = cfg.env
        env = {**sandbox_env, **env}  # what the user exported wins
        log.info("sandbox ready %s", logs.kv(root=cfg.root))
    log_connections(env, sandbox_env)
    report = RunReport(
        run_id=env["CONNECTOR_RUN_ID"],
        environment=environment or "dev",
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    for name in names:
        started = dt.datetime.now(dt.UTC)
        report.jobs.append(result := run_job(name, env, environment))
        if result.exit_code == 0:  # the schedule counts from the start of the last success
            with cadence.LastSuccess(environment or "dev") as last:
                last.record(name, started, report.run_id)
    path = report.save()
    print(f"\nsync report ({path})\n{report.table()}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
