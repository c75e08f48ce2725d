"""Hostile and broken inputs (issue 17): the flows' own fixtures, shared here.

Each module is one class of bad input; each asserts that the good records of the same run
land, that the next run is not blocked, and that the reason is recorded.
"""

from __future__ import annotations

from tests.partner_feeds.conftest import (  # noqa: F401
    _offline_dlt,
    catalog,
    postgres_settings,
    settings,
)
from tests.tracos.conftest import flow  # noqa: F401
