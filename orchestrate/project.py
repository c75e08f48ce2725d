"""What the Dagster definitions read from the meltano project: jobs, schedules, tenants."""

from __future__ import annotations

import hashlib
import json
import os
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ops.sync import MELTANO, PROJECT_ROOT, meltano_env

TENANTS_FILE = Path(__file__).with_name("tenants.yml")
CACHE_DIR = PROJECT_ROOT / ".meltano" / "orchestrate"


@dataclass(frozen=True)
class Schedule:
    """One meltano schedule: its name, the job it runs and its cron expression."""

    name: str
    job: str
    cron: str


def meltano_json(*args: str) -> Any:
    """`meltano <args> --format=json`, kept per version of the project's yml files.

    Dagster loads the definitions again in every run and step process; the cache spares each
    of them a meltano start (1-2 s) while the project files are unchanged.
    """
    files = [PROJECT_ROOT / "meltano.yml", *sorted((PROJECT_ROOT / "meltano").glob("*.yml"))]
    digest = hashlib.sha256(" ".join(args).encode())
    for file in files:
        digest.update(file.read_bytes())
    cached = CACHE_DIR / f"{digest.hexdigest()[:24]}.json"
    if cached.exists():
        return json.loads(cached.read_text())
    out = subprocess.run(
        [MELTANO, *args, "--format=json"],
        cwd=PROJECT_ROOT,
        env=meltano_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(out)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(out)
    partial.replace(cached)  # atomic: a parallel loader reads the old file or the whole new one
    return data


def jobs() -> list[str]:
    """`meltano job list`: every job of the project."""
    return [job["job_name"] for job in meltano_json("job", "list")["jobs"]]


def schedules() -> list[Schedule]:
    """`meltano schedule list`: the job schedules (meltano resolves `@hourly` to cron)."""
    return [
        Schedule(s["name"], s["job"]["name"], s["cron_interval"])
        for s in meltano_json("schedule", "list")["schedules"]["job"]
    ]


@dataclass(frozen=True)
class Tenants:
    """The tenants of one job: name -> settings, values written as `$VARIABLE` references."""

    job: str
    settings: dict[str, dict[str, str]]

    @property
    def names(self) -> list[str]:
        return sorted(self.settings)

    def env(self, tenant: str) -> dict[str, str]:
        """This tenant's settings, `$VARIABLES` taken from the environment now (not at load)."""
        resolved = {}
        for name, value in self.settings[tenant].items():
            try:
                resolved[name] = string.Template(str(value)).substitute(os.environ)
            except KeyError as exc:
                raise LookupError(
                    f"tenant {tenant} of job {self.job}: {name} refers to ${exc.args[0]}, "
                    "which is not set"
                ) from None
        return resolved


def tenants(path: Path | None = None) -> dict[str, Tenants]:
    """Jobs run once per tenant, from tenants.yml (or the file ORCHESTRATE_TENANTS names)."""
    path = path or Path(os.environ.get("ORCHESTRATE_TENANTS") or TENANTS_FILE)
    data: dict[str, Any] = yaml.safe_load(path.read_text()) or {}
    return {
        job: Tenants(job, {str(t): dict(s or {}) for t, s in (by_tenant or {}).items()})
        for job, by_tenant in data.items()
        if by_tenant
    }
