"""meltano.yml's dev defaults are the sandbox at its default ports, and only defaults.

Every connection setting reads its seed variable (env_aliases), so an export wins in every
environment; the dev environment's `config:` holds what the sandbox serves when nothing is
exported. No environment has an `env:` block (meltano lets it win over the shell).
"""

from __future__ import annotations

from typing import Any

import yaml

from sandbox.settings import DEFAULT_PORTS, PROJECT_ROOT, SandboxConfig


def plugins() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for path in (PROJECT_ROOT / "meltano").glob("*.meltano.yml"):
        for kind in (yaml.safe_load(path.read_text()) or {}).get("plugins", {}).values():
            found.update({plugin["name"]: plugin for plugin in kind})
    return found


def test_dev_defaults_are_the_sandbox_at_its_default_ports() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "meltano.yml").read_text())
    environments = {env["name"]: env for env in project["environments"]}
    assert project["ff"]["strict_env_var_mode"] is True
    assert all("env" not in env for env in environments.values())
    sandbox = SandboxConfig(
        root=PROJECT_ROOT / ".sandbox",
        ports={name: port for name, (_, port) in DEFAULT_PORTS.items()},
        inbound_dir=PROJECT_ROOT / "data" / "inbound",
        outbound_dir=PROJECT_ROOT / "data" / "outbound",
    ).env
    declared = plugins()
    defaulted = set()
    for kind in environments["dev"]["config"]["plugins"].values():
        for plugin in kind:
            settings = {s["name"]: s for s in declared[plugin["name"]].get("settings", [])}
            for name, value in plugin["config"].items():
                aliases = settings[name].get("env_aliases", [])
                if not aliases:
                    continue  # not a seed connection (e.g. the glassdome dead-letter file)
                (var,) = aliases
                shown = str(value).replace("$MELTANO_PROJECT_ROOT", str(PROJECT_ROOT))
                assert shown == sandbox[var], (plugin["name"], name)
                defaulted.add(var)
    # every seed variable a plugin reads has a sandbox default in dev
    aliased = {
        var
        for plugin in declared.values()
        for setting in plugin.get("settings", [])
        for var in setting.get("env_aliases", [])
    }
    assert defaulted == aliased
    assert {"MONGO_URI", "MES_DATABASE_URL", "GLASSDOME_API_URL", "CUSTOMERS_API_URL"} <= aliased
