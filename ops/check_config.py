"""`make check-config`: the settings each job needs in an environment, and which are missing.

The needs are read from where they are declared, not from a list kept here:
- Singer plugins: the `$VAR` references in their `config:` (meltano/*.meltano.yml), for each
  plugin (and mapping) a job's tasks name;
- dlt pipelines: the seed variable names of the pipeline's ENV_ALIASES (its settings module);
  a database URL only when the pipeline's destination setting says postgres.
A variable counts as set when it is non-empty in the process environment, in `.env`, or in
the environment's `env:` block of meltano.yml. Values are never printed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROVIDED_BY_MELTANO = {"MELTANO_PROJECT_ROOT"}
_VAR = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)\}?")
# dlt command -> (settings module with ENV_ALIASES, variable naming its destination)
DLT_COMMANDS = {
    "customers": ("pipelines.customers.settings", "SOURCES__CUSTOMERS__DESTINATION"),
    "offers": ("pipelines.offers.settings", None),
    "partner-feeds": ("pipelines.partner_feeds.settings", "PARTNER_FEEDS_DESTINATION"),
}
POSTGRES_ONLY = {"DATABASE_URL"}  # needed by a dlt pipeline only with destination postgres


@dataclass(frozen=True)
class Need:
    job: str
    variable: str
    used_by: str


def project_config(root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """meltano.yml with its include_paths merged (plugins by type, jobs, environments)."""
    main = yaml.safe_load((root / "meltano.yml").read_text())
    merged: dict[str, Any] = {
        "plugins": {},
        "jobs": [],
        "environments": main.get("environments", []),
    }
    files = [root / "meltano.yml"]
    for pattern in main.get("include_paths", []):
        files.extend(sorted(root.glob(pattern.removeprefix("./"))))
    for path in files:
        data = yaml.safe_load(path.read_text()) or {}
        for kind, plugins in (data.get("plugins") or {}).items():
            merged["plugins"].setdefault(kind, []).extend(plugins)
        merged["jobs"].extend(data.get("jobs") or [])
    return merged


def _variables(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from _VAR.findall(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _variables(item)
    elif isinstance(value, list):
        for item in value:
            yield from _variables(item)


def _plugins(config: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every plugin and mapping by the name a job's task uses; inherited config included."""
    found: dict[str, dict[str, Any]] = {}
    for plugins in config["plugins"].values():
        for plugin in plugins:
            found[plugin["name"]] = plugin
            for mapping in plugin.get("mappings", []):
                found[mapping["name"]] = {**plugin, "config": {**plugin.get("config", {})}}
    for plugin in found.values():
        parent = found.get(plugin.get("inherit_from", ""))
        if parent is not None:
            plugin["config"] = {**parent.get("config", {}), **plugin.get("config", {})}
    return found


def needs(config: Mapping[str, Any], env: Mapping[str, str]) -> list[Need]:
    plugins = _plugins(config)
    result: list[Need] = []
    for job in config["jobs"]:
        for task in job["tasks"]:
            for ref in task.split():
                name, _, command = ref.partition(":")
                if name == "dlt" and command in DLT_COMMANDS:
                    module, destination_var = DLT_COMMANDS[command]
                    variables = list(
                        importlib.import_module(module).__dict__.get("ENV_ALIASES", {})
                    )
                    if destination_var:  # the database URL only for destination postgres
                        variables = [v for v in variables if v not in POSTGRES_ONLY]
                        if env.get(destination_var, "").lower() == "postgres":
                            variables.extend(POSTGRES_ONLY)
                else:
                    variables = list(_variables(plugins.get(name, {}).get("config", {})))
                for variable in dict.fromkeys(variables):
                    if variable not in PROVIDED_BY_MELTANO:
                        result.append(Need(job["name"], variable, ref))
    return result


def available(
    environment: str, config: Mapping[str, Any], root: Path = PROJECT_ROOT
) -> dict[str, str]:
    """Non-empty values from the environment's env block, .env and the process (last wins)."""
    block: dict[str, str] = {}
    for env in config["environments"]:
        if env.get("name") == environment:
            block = {k: str(v) for k, v in (env.get("env") or {}).items()}
    dotenv = (
        {k: v or "" for k, v in dotenv_values(root / ".env").items()}
        if (root / ".env").exists()
        else {}
    )
    merged = {**block, **dotenv, **os.environ}
    return {k: v for k, v in merged.items() if v}


def report(environment: str, root: Path = PROJECT_ROOT) -> tuple[str, list[str]]:
    """The listing (no values) and the missing variable names."""
    config = project_config(root)
    values = available(environment, config, root)
    lines = [f"settings for environment {environment}"]
    missing: list[str] = []
    by_job: dict[str, list[Need]] = {job["name"]: [] for job in config["jobs"]}
    for need in needs(config, values):
        by_job[need.job].append(need)
    for job, job_needs in by_job.items():
        lines.append(f"job {job}" + ("" if job_needs else "  (no settings without a default)"))
        for need in job_needs:
            lines.append(_line(need, values, missing))
    lines.append(
        f"{len(missing)} missing: {', '.join(missing)}" if missing else "every setting is set"
    )
    return "\n".join(lines), missing


def _line(need: Need, values: Mapping[str, str], missing: list[str]) -> str:
    state = "set" if need.variable in values else "MISSING"
    if state == "MISSING" and need.variable not in missing:
        missing.append(need.variable)
    return f"  {need.variable:28} {state:8} ({need.used_by})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.check_config", description=__doc__)
    parser.add_argument(
        "--environment",
        default=os.environ.get("MELTANO_ENVIRONMENT") or "dev",
        help="meltano environment (default: $MELTANO_ENVIRONMENT or dev)",
    )
    args = parser.parse_args(argv)
    text, missing = report(args.environment)
    print(text)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
