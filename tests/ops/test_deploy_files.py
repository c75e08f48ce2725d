"""The workflows (and the compose file) validate against the schemas check-jsonschema vendors.

No network at test time: `--builtin-schema vendor.*` uses the copies shipped in the
check-jsonschema wheel (GitHub workflow schema from SchemaStore, the Compose Specification).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

from sandbox.settings import PROJECT_ROOT

CHECK_JSONSCHEMA = str(Path(sys.executable).with_name("check-jsonschema"))
WORKFLOWS = sorted((PROJECT_ROOT / ".github" / "workflows").glob("*.yml"))


def validate(schema: str, *files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CHECK_JSONSCHEMA, "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_workflows_validate() -> None:
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "sync.yml"}
    result = validate("vendor.github-workflows", *WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = yaml.safe_load((PROJECT_ROOT / ".github/workflows/sync.yml").read_text())
    broken["jobs"]["sync"]["steps"][0] = {"uses": "actions/checkout@v4", "whith": {}}
    del broken["jobs"]["sync"]["runs-on"]
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert validate("vendor.github-workflows", path).returncode != 0


def test_scheduled_sync_runs_what_is_due_and_keeps_its_evidence() -> None:
    workflow = yaml.safe_load((PROJECT_ROOT / ".github/workflows/sync.yml").read_text())
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert triggers["schedule"] == [{"cron": "*/5 * * * *"}]
    job = workflow["jobs"]["sync"]
    env = job["env"]
    assert env["MELTANO_ENVIRONMENT"] == "prod"
    assert env["MELTANO_DATABASE_URI"] == "${{ secrets.MELTANO_DATABASE_URI }}"
    assert env["DEAD_LETTER_DIR"].startswith("${{ github.workspace }}/")
    assert env["REPORTS_DIR"].startswith("${{ github.workspace }}/")
    runs = [step.get("run", "") for step in job["steps"]]
    assert ".venv/bin/python -m ops.sync --due" in runs
    (upload,) = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload["if"] == "always()"
    uploaded = upload["with"]["path"].split()
    assert {"output/dead-letter/", "reports/"} <= set(uploaded)
    # every secret it reads is a plain repository secret named like the variable
    for name, value in env.items():
        if "secrets." in str(value):
            assert value == f"${{{{ secrets.{name} }}}}"


COMPOSE = PROJECT_ROOT / "docker-compose.yml"


def test_compose_file_validates_against_the_compose_specification() -> None:
    result = validate("vendor.compose-spec", COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


def _module_exists(module: str) -> bool:
    """`python -m module` would find it in the project (a module file or a package's __main__)."""
    path = PROJECT_ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()


def _make_targets() -> set[str]:
    text = (PROJECT_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


def project_commands(argv: list[str]) -> list[tuple[str, str]]:
    """(kind, name) of every project entry point a command line starts."""
    if argv[:2] == ["sh", "-c"]:
        line = argv[2]
        return [("module", m) for m in re.findall(r"python -m ([\w.]+)", line)] + [
            ("make", t) for t in re.findall(r"\bmake ([a-z-]+)", line)
        ]
    if argv[:2] == ["python", "-m"]:
        return [("module", argv[2])]
    if argv[0] == "make":
        return [("make", argv[1])]
    return [("unknown", " ".join(argv))]


def test_every_service_command_exists_in_the_project() -> None:
    compose = yaml.safe_load(COMPOSE.read_text())
    services = compose["services"]
    assert {"postgres", "mongo", "service", "scheduler"} <= set(services)
    assert {n for n, s in services.items() if "dev" in s.get("profiles", [])} == {
        "glassdome-api",
        "customers-api",
        "offers-api",
    }
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    (default_cmd,) = re.findall(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    commands = {"<image default>": json.loads(default_cmd)}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
        if "build" in service:
            commands[name] = service.get("command", commands["<image default>"])
        else:
            assert ":" in service["image"], f"{name}: pin the image's version"
    assert "ops.sync --due" in " ".join(commands["scheduler"])
    targets = _make_targets()
    missing = []
    for name, argv in commands.items():
        for kind, entry in project_commands(argv):
            found = (
                _module_exists(entry) if kind == "module" else kind == "make" and entry in targets
            )
            if not found:
                missing.append(f"{name}: {kind} {entry}")
    assert missing == []
    # named volumes are declared, state lives in them
    used = {
        v.split(":", 1)[0]
        for s in services.values()
        for v in s.get("volumes", [])
        if not v.startswith((".", "/"))
    }
    assert used <= set(compose["volumes"])
    assert {"postgres-data", "mongo-data"} <= used
