"""The singer-sdk standard target suite against the sandbox warehouse."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.testing import get_target_test_class
from target_postgres.target import TargetPostgres

# Filled by the fixture below once the sandbox is up: the factory keeps this same dict.
SUITE_CONFIG: dict[str, Any] = {}

StandardTargetTests = get_target_test_class(TargetPostgres, config=SUITE_CONFIG)


class TestTargetPostgresStandard(StandardTargetTests):  # type: ignore[misc,valid-type]
    """Every standard target test; exclusions (none at present) would be listed with reasons."""

    @pytest.fixture(autouse=True)
    def _point_at_sandbox(self, warehouse_url: str, schema: str) -> Iterator[None]:
        SUITE_CONFIG.clear()
        SUITE_CONFIG.update(database_url=warehouse_url, default_target_schema=schema)
        yield
        SUITE_CONFIG.clear()
