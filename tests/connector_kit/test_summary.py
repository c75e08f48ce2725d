"""The run summary line: what a plugin logs is what the run report reads back."""

from __future__ import annotations

import logging
import time

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


def test_progress_lines_come_on_time_while_a_run_lasts(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("target-x.progress")
    with caplog.at_level(logging.INFO, logger="target-x.progress"):
        with logs.Progress(logger, every=0.05, stream="products") as progress:
            progress.add(40)
            time.sleep(0.3)  # no add() meanwhile: a slow batch still gets its lines
            progress.add(2)
            time.sleep(0.15)
        lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress")]
        count = len(lines)
        time.sleep(0.15)
    assert count >= 4
    assert len([r for r in caplog.records if r.getMessage().startswith("progress")]) == count
    assert lines[0].startswith("progress stream=products records=40 ")
    assert "records=42 " in lines[-1]
    assert "rate_per_s=" in lines[-1]
