"""singer-sdk standard suites for tap-mes and target-glassdome (exclusions: docs/glassdome.md).

The suites are built at import time, before the sandbox exists, so their config dicts are
filled in by a class fixture once the session sandbox is up (the runners keep the dict).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from singer_sdk.testing import get_tap_test_class, get_target_test_class
from tap_mes.tap import TapMes
from target_glassdome.target import TargetGlassdome

from sandbox import mes
from sandbox.settings import SandboxConfig
from tests.glassdome.conftest import API_KEY, create_database, drop_database

TAP_CONFIG: dict[str, object] = {
    "sqlalchemy_url": "postgresql://unset@127.0.0.1:1/mes",
    "lookback_seconds": 0,
}
TARGET_CONFIG: dict[str, object] = {
    "api_url": "http://127.0.0.1:1",
    "api_key": API_KEY,
    # The suites send generic streams (no sku/status): each record is dead-lettered, and the
    # tests check that the target copes with the message shapes, not that it fails the run.
    "fail_on_rejects": False,
    "dead_letter_path": str(
        Path(tempfile.mkdtemp(prefix="glassdome-suite-")) / "dead-letter.jsonl"
    ),
}


class TestTapMes(get_tap_test_class(TapMes, config=TAP_CONFIG)):  # type: ignore[misc]
    @pytest.fixture(scope="class", autouse=True)
    def _seeded_mes(self, sandbox_cfg: SandboxConfig) -> Iterator[None]:
        url = create_database(sandbox_cfg, "mes_suite")  # private: other areas may fill `mes`
        mes.create_schema(url)
        TAP_CONFIG["sqlalchemy_url"] = url
        yield
        drop_database(sandbox_cfg, url)


class TestTargetGlassdome(get_target_test_class(TargetGlassdome, config=TARGET_CONFIG)):  # type: ignore[misc]
    @pytest.fixture(scope="class", autouse=True)
    def _sandbox_glassdome(self, sandbox_cfg: SandboxConfig) -> None:
        TARGET_CONFIG["api_url"] = sandbox_cfg.http_url("glassdome")
