"""When a job is due: meltano.yml's schedules against the job's last successful run.

The schedules in `meltano/*.meltano.yml` are the one source of cadence; whatever fires
`python -m ops.sync --due` (the GitHub workflow every 5 minutes, the compose scheduler)
only asks "what is due now?". A job is due when its schedule has fired since its last
successful run, or when it has never succeeded. The last success is kept in meltano's own
state backend (the system database, or MELTANO_STATE_BACKEND_URI: s3://, gs://, azure://)
as the state id `<environment>:sync-<job>`, beside the jobs' bookmarks; `meltano state
list` shows it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from croniter import croniter

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Schedule:
    name: str
    job: str
    interval: str  # as written in meltano.yml: a cron expression, @hourly, @once, @manual, ...
    cron: str | None  # meltano's cron form of it; None for @once and @manual

    def due(self, last_success: dt.datetime | None, now: dt.datetime) -> bool:
        if self.cron is None:
            return self.interval == "@once" and last_success is None
        if last_success is None:
            return True
        fired: dt.datetime = croniter(self.cron, last_success).get_next(dt.datetime)
        return fired <= now


def schedules(meltano: str, env: Mapping[str, str]) -> list[Schedule]:
    """The job schedules meltano knows (`meltano schedule list`)."""
    out = subprocess.run(
        [meltano, "schedule", "list", "--format=json"],
        cwd=PROJECT_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [
        Schedule(s["name"], s["job"]["name"], str(s["interval"]), s.get("cron_interval"))
        for s in json.loads(out)["schedules"].get("job", [])
    ]


def due_jobs(
    plan: list[Schedule], last_success: Mapping[str, dt.datetime | None], now: dt.datetime
) -> list[str]:
    """Jobs (in schedule order, once each) with a schedule due since their last success."""
    due = [s.job for s in plan if s.due(last_success.get(s.job), now)]
    return list(dict.fromkeys(due))


def state_id(environment: str, job: str) -> str:
    return f"{environment}:sync-{job}"


def _quiet_meltano() -> None:
    """meltano's modules log through structlog; keep their chatter out of the sync's log."""
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


class LastSuccess:
    """Each job's last successful run, read from and written to meltano's state backend."""

    def __init__(self, environment: str) -> None:
        _quiet_meltano()
        from meltano.core.db import project_engine
        from meltano.core.project import Project
        from meltano.core.state_service import StateService

        self.environment = environment
        self.project = Project.find(PROJECT_ROOT)
        _, make_session = project_engine(self.project)
        self.session = make_session()
        self.states = StateService(self.project, self.session)

    def __enter__(self) -> LastSuccess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.states.close()
        self.session.close()

    def get(self, job: str) -> dt.datetime | None:
        state = self.states.get_state(state_id(self.environment, job))
        when = state.get("singer_state", {}).get("last_success")
        return dt.datetime.fromisoformat(when) if when else None

    def record(self, job: str, when: dt.datetime, run_id: str) -> None:
        payload = {"singer_state": {"last_success": when.isoformat(), "run_id": run_id}}
        self.states.set_state(state_id(self.environment, job), json.dumps(payload))


def durable_state_problem() -> str | None:
    """Why bookmarks would not outlive this run, or None.

    On a CI runner (CI=true) meltano's default system database is a SQLite file on the
    runner's disk: every bookmark and last-success mark would vanish with it. Settings come
    from the process environment, `.env` and meltano.yml, as meltano reads them.
    """
    if os.environ.get("CI", "").lower() not in {"true", "1"}:
        return None
    remedy = "set MELTANO_DATABASE_URI (a database) or MELTANO_STATE_BACKEND_URI (s3://, gs://, azure://)"
    if os.environ.get("MELTANO_DATABASE_URI") == "":  # e.g. `${{ secrets.X }}` of a missing secret
        return f"CI=true but MELTANO_DATABASE_URI is empty (is the secret set?): {remedy}"
    _quiet_meltano()
    from meltano.core.project import Project
    from meltano.core.settings_store import SettingValueStore

    settings = Project.find(PROJECT_ROOT).settings
    backend, _ = settings.get_with_source("state_backend.uri")
    database, source = settings.get_with_source("database_uri")
    if str(backend) != "systemdb" or source is not SettingValueStore.DEFAULT:
        return None
    return f"CI=true but meltano state would live in {database}, on this runner's disk, and be lost: {remedy}"
