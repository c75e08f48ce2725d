"""Settings and outputs that agree with themselves (TracOS outbound).

Before: overriding target-client-json's outbound folder alone sent the journal there, while
`tracos-mark-synced` still read `$DATA_OUTBOUND_DIR/.written.jsonl`: it reported synced=0 with
rc 0 and the orders were exported again on every run. And outbound files were written 0600
whatever the umask, so an ERP pickup account could not read them.
Now DATA_OUTBOUND_DIR is the one setting both read (a second value for the target alone is
refused by meltano), a journal path that cannot be the target's fails loudly, and files
follow the umask or `file_mode`.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import VENV_BIN
from tests.tracos.conftest import Flow

pytestmark = pytest.mark.e2e


def test_overriding_the_target_folder_alone_fails_loudly_and_exports_nothing(flow: Flow) -> None:
    """DATA_OUTBOUND_DIR is the one outbound setting: target-client-json and
    tracos-mark-synced both read it. A second value for the target alone is refused by meltano
    before any plugin starts, naming both variables, instead of acknowledging nothing."""
    flow.seed_tracos()
    elsewhere = flow.root / "pickup"

    result = flow.meltano("run", "tracos-outbound", TARGET_CLIENT_JSON_OUTBOUND_DIR=str(elsewhere))

    assert result.returncode != 0
    assert "TARGET_CLIENT_JSON_OUTBOUND_DIR" in result.stderr
    assert "DATA_OUTBOUND_DIR" in result.stderr
    assert not elsewhere.exists()
    assert flow.outbound_files() == {}
    assert [d["isSynced"] for d in flow.documents().values()] == [False] * 10  # still to export

    again = flow.meltano("run", "tracos-outbound")  # the one setting: exported and acknowledged

    assert again.returncode == 0, again.stderr[-3000:]
    assert len(flow.outbound_files()) == 10
    assert [d["isSynced"] for d in flow.documents().values()] == [True] * 10


def test_a_journal_path_that_cannot_be_the_targets_fails_loudly(flow: Flow) -> None:
    result = subprocess.run(
        [str(VENV_BIN / "tracos-mark-synced"), "ack"],
        env={**flow.env, "TRACOS_MARK_SYNCED_JOURNAL_PATH": str(flow.root / "nowhere" / "j")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "journal folder missing, nothing can be acknowledged" in result.stderr
    assert "Traceback" not in result.stderr


def write_outbound(folder: Path, umask: int, **config: str) -> subprocess.CompletedProcess[str]:
    schema = {"properties": {"orderNo": {"type": "integer"}, "lastUpdateDate": {"type": "string"}}}
    messages = [
        {
            "type": "SCHEMA",
            "stream": "work_orders",
            "schema": schema,
            "key_properties": ["orderNo"],
        },
        {
            "type": "RECORD",
            "stream": "work_orders",
            "record": {"orderNo": 1, "lastUpdateDate": "2025-01-01T00:00:00.000+00:00"},
        },
    ]
    config_path = folder.parent / f"target-{umask:o}.json"
    config_path.write_text(json.dumps({"outbound_dir": str(folder), **config}))
    return subprocess.run(
        [str(VENV_BIN / "target-client-json"), "--config", str(config_path)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        env={**os.environ, "DEAD_LETTER_DIR": str(folder.parent / "dead-letter")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        umask=umask,
    )


def test_outbound_files_follow_the_umask_or_file_mode(tmp_path: Path) -> None:
    by_umask, by_setting = tmp_path / "umask", tmp_path / "setting"

    results = [
        write_outbound(by_umask, 0o022),
        write_outbound(by_setting, 0o077, file_mode="0640"),
    ]

    assert [r.returncode for r in results] == [0, 0], results[0].stderr[-2000:]
    assert stat.S_IMODE((by_umask / "1.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((by_setting / "1.json").stat().st_mode) == 0o640
