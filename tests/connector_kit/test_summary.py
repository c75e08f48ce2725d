"""The run summary line: what a plugin logs is what the run report reads back."""

from __future__ import annotations

import logging

import pytest
from connector_kit import logs


def test_summary_line_round_trips_through_a_wrapped_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("target-x.products")
    with caplog.at_level(logging.INFO, logger="target-x.products"):
        logs.summary(logger, stream="products", inserted=3, updated=1, path="/tmp/a b")
    line = logs.MaskingFormatter().format(caplog.records[-1])
    wrapped = f"2026-01-01T00:00:00Z [info     ] target-x {line}"  # as meltano shows it
    assert logs.parse_summary(wrapped) == {
        "stage": "target-x.products",
        "stream": "products",
        "inserted": 3,
        "updated": 1,
        "path": "/tmp/a b",
    }


@pytest.mark.parametrize(
    "line",
    [
        "summary stream=products inserted=3",  # the old key=value prose
        'summary {"inserted": 3}',  # no stage: not one of ours
        'summary {"stage": "x", "inserted": ',  # cut off
        "work order summary is not a string",
    ],
)
def test_other_lines_are_not_summaries(line: str) -> None:
    assert logs.parse_summary(line) is None
