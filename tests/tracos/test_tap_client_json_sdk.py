"""singer-sdk standard tap suite for tap-client-json, over the committed sample files.

tap-tracos is not wired in: the suite's config is fixed at import time, before the session
sandbox gives Mongo a port; its behaviour is covered by the end-to-end tests. The target
suites are not wired in either: they send fixed sample streams without one key property and
without `updatedAt`, which target-tracos rejects by design and target-client-json cannot name
files from.
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
