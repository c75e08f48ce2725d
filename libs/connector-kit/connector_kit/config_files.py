"""Let a singer-sdk plugin read `--config file.yaml` as well as JSON (the SDK reads JSON only)."""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

YAML_SUFFIXES = (".yaml", ".yml")


def json_argv(argv: Sequence[str], workdir: Path) -> list[str]:
    """Return argv with every YAML `--config` path replaced by a JSON copy written under workdir."""
    out: list[str] = []
    expect_path = False
    for arg in argv:
        value = arg
        if expect_path and arg.lower().endswith(YAML_SUFFIXES):
            data = yaml.safe_load(Path(arg).read_text(encoding="utf-8")) or {}
            copy = workdir / f"config-{len(out)}.json"
            copy.write_text(json.dumps(data), encoding="utf-8")
            value = str(copy)
        expect_path = arg == "--config"
        out.append(value)
    return out


def run_cli(cli: Callable[..., object]) -> None:
    """Run a singer-sdk click command with YAML config files converted to JSON first."""
    with tempfile.TemporaryDirectory(prefix="connector-config-") as workdir:
        cli(args=json_argv(sys.argv[1:], Path(workdir)), prog_name=Path(sys.argv[0]).name)
