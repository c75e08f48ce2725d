"""The plugins' command-line entry (connector_kit.config_files)."""

from __future__ import annotations

import json
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
def test_every_plugin_exits_fast_with_its_whole_output(plugin: str) -> None:
    about = subprocess.run(
        [str(BIN / plugin), "--about", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert about.returncode == 0, about.stderr
    assert json.loads(about.stdout)["name"] == plugin  # the whole document, flushed


@pytest.mark.parametrize(
    ("plugin", "bad_config"),
    [
        ("tap-mes", "lookback_seconds: 5\n"),  # no sqlalchemy_url
        ("target-glassdome", "api_url: http://x\napi_key: k\nbatch_size: 999\n"),
        ("map-mes-glassdome", "output_stream: 5\n"),
    ],
)
def test_fast_exit_keeps_the_exit_code_of_a_failed_run(
    plugin: str, bad_config: str, tmp_path: Path
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
