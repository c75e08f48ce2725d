"""The plugins' command-line entry (connector_kit.config_files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from connector_kit.config_files import connections, exit_code, json_argv
from connector_kit.logs import endpoint

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(("code", "expected"), [(None, 0), (0, 0), (3, 3), ("bad config", 1)])
def test_exit_code_follows_the_interpreter(
    code: object, expected: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_code(code) == expected
    assert capsys.readouterr().err == ("bad config\n" if isinstance(code, str) else "")


def test_yaml_config_is_handed_to_the_sdk_as_json(tmp_path: Path) -> None:
    (tmp_path / "mes.yaml").write_text("sqlalchemy_url: postgresql://h/mes\nlookback_seconds: 5\n")

    argv = json_argv(["--config", str(tmp_path / "mes.yaml"), "--discover"], tmp_path)

    assert (argv[0], argv[2]) == ("--config", "--discover")
    assert json.loads(Path(argv[1]).read_text()) == {
        "sqlalchemy_url": "postgresql://h/mes",
        "lookback_seconds": 5,
    }


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://etl:s3cret@db.example.com:5432/mes?sslmode=require",
            "postgresql://db.example.com:5432/mes",
        ),
        (
            "mongodb://u:p@m1:27017,m2:27017/tractian?replicaSet=rs0",
            "mongodb://m1:27017,m2:27017/tractian",
        ),
        ("https://glassdome.example.com", "https://glassdome.example.com"),
        ("/var/lib/erp/inbound", "/var/lib/erp/inbound"),
    ],
)
def test_endpoint_shows_host_and_database_never_credentials(url: str, shown: str) -> None:
    assert endpoint(url) == shown


def test_connections_are_the_url_uri_and_dir_settings(tmp_path: Path) -> None:
    (tmp_path / "c.json").write_text(
        json.dumps(
            {
                "mongo_uri": "mongodb://u:pw@h:1/db",
                "inbound_dir": "/in",
                "api_key": "pat_secret",
                "batch_size": 5,
            }
        )
    )
    argv = ["--config", str(tmp_path / "c.json"), "--discover"]

    assert connections(argv) == {"mongo_uri": "mongodb://h:1/db", "inbound_dir": "/in"}


SINGER_PLUGINS = [
    "tap-mes",
    "tap-client-json",
    "tap-tracos",
    "map-mes-glassdome",
    "erp-to-tracos",
    "tracos-to-erp",
    "target-glassdome",
    "target-postgres",
    "target-tracos",
    "target-client-json",
]


@pytest.mark.parametrize("plugin", SINGER_PLUGINS)
def test_every_plugin_exits_with_its_whole_output(plugin: str) -> None:
    about = subprocess.run(
        [str(BIN / plugin), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert about.returncode == 0, about.stderr
    assert json.loads(about.stdout)["name"] == plugin  # the whole document, flushed


@pytest.mark.parametrize(
    ("plugin", "bad_config", "reason"),
    [
        ("tap-mes", "lookback_seconds: 5\n", "'sqlalchemy_url' is a required property"),
        ("tap-mes", "sqlalchemy_url: postgresql://h/mes\nlookback_seconds: -1\n", "lookback"),
        (
            "target-glassdome",
            "api_url: http://x\napi_key: k\nbatch_size: 999\n",
            "batch_size must be 1..200, got 999",
        ),
        ("map-mes-glassdome", "output_stream: 5\n", "config['output_stream']"),
    ],
)
def test_a_bad_config_exits_1_naming_the_problem(
    plugin: str, bad_config: str, reason: str, tmp_path: Path
) -> None:
    (tmp_path / "bad.yaml").write_text(bad_config)
    bad = subprocess.run(
        [str(BIN / plugin), "--config", str(tmp_path / "bad.yaml")],
        capture_output=True,
        text=True,
        input="",
        check=False,
    )
    assert bad.returncode == 1, bad.stderr
    assert reason in bad.stderr
    assert "Traceback" not in bad.stderr
    assert bad.stdout == ""  # nothing was read or written


EXITING_PLUGIN = """
import atexit, sys, threading
import click
from connector_kit.config_files import run_cli

@click.command()
@click.option("--code", type=int, default=0)
def cli(code):
    def finish_after_main():
        threading.main_thread().join()  # returns only once the main thread has ended
        print("thread joined", flush=True)
    threading.Thread(target=finish_after_main).start()
    atexit.register(lambda: print("atexit ran", flush=True))
    print("output", end="")  # unflushed
    sys.stdin.readline()  # the test's go-ahead (its reader may have gone by then)
    sys.exit(code)

run_cli(cli)
"""


def buffered_env() -> dict[str, str]:
    """Output block-buffered, as in production (the shell here may set PYTHONUNBUFFERED)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@pytest.mark.parametrize("code", [0, 3])
def test_exit_joins_threads_runs_atexit_and_keeps_the_code(code: int, tmp_path: Path) -> None:
    """A plugin's non-daemon threads finish and its atexit handlers run before it exits."""
    script = tmp_path / "plugin.py"
    script.write_text(EXITING_PLUGIN)
    done = subprocess.run(
        [sys.executable, str(script), "--code", str(code)],
        input="go\n",
        env=buffered_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith("output")
    assert "thread joined\n" in done.stdout
    assert done.stdout.endswith("atexit ran\n")  # atexit handlers run after threads joined


def test_a_closed_stdout_ends_quietly_with_the_code(tmp_path: Path) -> None:
    """Output still buffered when the next stage of the pipe has gone: no traceback."""
    script = tmp_path / "plugin.py"
    script.write_text(EXITING_PLUGIN)
    plugin = subprocess.Popen(
        [sys.executable, str(script), "--code", "3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=buffered_env(),
    )
    assert plugin.stdin is not None
    assert plugin.stdout is not None
    assert plugin.stderr is not None
    plugin.stdout.close()  # the reader went away
    plugin.stdin.write(b"go\n")
    plugin.stdin.close()
    stderr = plugin.stderr.read().decode()
    assert plugin.wait(timeout=60) == 3
    assert "Traceback" not in stderr
    assert "BrokenPipeError" not in stderr
