"""singer-sdk standard tap suite for tap-client-json, over the committed sample files.

The suites of tap-tracos, target-tracos and target-client-json are in test_sdk_suites.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import get_tap_test_class
from tap_client_json.tap import TapClientJson

from tests.tracos.conftest import FIXTURES

TestTapClientJson = get_tap_test_class(
    TapClientJson,
    config={
        "inbound_dir": str(FIXTURES / "erp_inbound"),
        "settle_seconds": 0,
        # the samples are valid, so nothing lands here; never beside the committed fixtures
        "quarantine_dir": str(Path(tempfile.gettempdir()) / "tap-client-json-sdk-quarantine"),
    },
)
