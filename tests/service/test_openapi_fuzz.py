"""Property-based fuzzing of the whole OpenAPI document with schemathesis (its CLI, against the
running service): no 5xx, and every response conforms to the schema the document declares."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.offers.conftest import OffersAdmin
from tests.service.conftest import RunningService

pytestmark = pytest.mark.e2e
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_no_5xx_and_every_response_conforms(
    service_factory: Callable[..., RunningService],
    customers_api: str,
    offers_admin: OffersAdmin,
    tmp_path: Path,
) -> None:
    service = service_factory()
    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{service.url}/openapi.json",
            "--checks=all",
            f"--header=X-API-Key: {service.api_key}",
            "--phases=examples,coverage,fuzzing,stateful",
            "--max-examples=15",
            "--seed=20261202",
            "--workers=1",
            "--request-timeout=60",
            f"--report-dir={tmp_path / 'report'}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout or "passed" in result.stdout, result.stdout[-3000:]
    assert "Traceback" not in service.log()
