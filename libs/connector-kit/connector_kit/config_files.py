"""The command-line entry of our singer-sdk plugins.

- `--config file.yaml` is read as well as JSON (the SDK reads JSON only).
- The first log line names where the plugin's connections point (settings named `*_url`,
  `*_uri`, `*_dir`: host and database or folder, never credentials) and meltano's environment.
- Log lines use connector_kit.logs's format (time, level, logger, run id; secrets masked)
  instead of whatever logging config meltano hands the SDK.
- The process ends with `sys.exit`: the interpreter joins every non-daemon thread (a
  delivery pool still writing) and runs the atexit handlers before it goes. Ending with
  `os._exit` would save the teardown of singer-sdk's imports (about 0.15 s of CPU per
  process), but nothing proves every plugin has joined and flushed what it owns by then.
  A stdout closed by the reader (a broken pipe) ends the process quietly, with its code.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import logging.config
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from connector_kit import logs

YAML_SUFFIXES = (".yaml", ".yml")
CONNECTION_SUFFIXES = ("_url", "_uri", "_dir")


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


def connections(argv: Sequence[str]) -> dict[str, str]:
    """The connection settings of the `--config` files in argv, as `logs.endpoint` shows them."""
    found: dict[str, str] = {}
    for flag, path in itertools.pairwise(argv):
        if flag != "--config" or not Path(path).is_file():
            continue
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))  # JSON is YAML
        for key, value in (data if isinstance(data, dict) else {}).items():
            if key.endswith(CONNECTION_SUFFIXES) and isinstance(value, str) and value:
                found[key] = logs.endpoint(value)
    return found


def run_cli(cli: Callable[..., object]) -> None:
    """Run a singer-sdk click command with YAML config files converted to JSON first.

    The process exits with the command's code. A failure (a database or API that does not
    answer or refuses us, a folder we cannot write) is one log line naming the plugin and
    the error, exit code 1; its traceback only with LOG_LEVEL=DEBUG.
    """
    prog_name = Path(sys.argv[0]).name
    try:
        if found := connections(sys.argv[1:]):
            logs.connections(found, plugin=prog_name)
        with tempfile.TemporaryDirectory(prefix="connector-config-") as workdir:
            # replaces what the SDK set up when `cli` was built (meltano's config included)
            logging.config.dictConfig(logs.sdk_logging_config())
            cli(args=json_argv(sys.argv[1:], Path(workdir)), prog_name=prog_name)
        code = 0
    except SystemExit as done:
        code = exit_code(done.code)
    except Exception as exc:
        if not logging.getLogger().handlers:
            logs.configure()
        logs.failure(logging.getLogger(prog_name), f"{prog_name} failed", exc, plugin=prog_name)
        code = 1
    exit_now(code)


def exit_code(code: object) -> int:
    """What the interpreter would make of `SystemExit(code)` (a message is printed, exit 1)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def exit_now(code: int) -> None:
    """End the process with `code` through the interpreter's normal shutdown."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: nothing more can be written
            # The interpreter flushes again at exit and would report the broken pipe.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
    sys.exit(code)
