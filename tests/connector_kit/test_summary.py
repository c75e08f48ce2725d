"""The run summary line: what a plugin logs is what the run report reads back."""

from __future__ import annotations

import logging
import threading
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


def test_progress_lines_come_from_their_own_thread_until_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = logging.getLogger("target-x.progress")

    def lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.getMessage().startswith("progress")]

    def wait_for(text: str) -> None:  # a state, not a duration: the timer thread writes it
        deadline = time.monotonic() + 30
        while not any(text in line for line in lines()):
            assert time.monotonic() < deadline, lines()
            time.sleep(0.01)

    with caplog.at_level(logging.INFO, logger="target-x.progress"):
        with logs.Progress(logger, every=0.05, stream="products") as progress:
            progress.add(40)
            wait_for("records=40 ")  # no add() meanwhile: a slow batch still gets its lines
            progress.add(2)
            wait_for("records=42 ")
        count = len(lines())  # stop() has joined the timer thread: nothing comes after
        assert len(lines()) == count
    assert all(line.startswith("progress stream=products records=") for line in lines())
    assert "records=42 " in lines()[-1]
    assert "rate_per_s=" in lines()[-1]


def test_progress_starts_its_thread_with_the_first_records() -> None:
    """A sink whose run fails before any record (and is never cleaned up) leaves no thread."""

    def timers() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name == "progress"}

    before = timers()
    idle = logs.Progress(logging.getLogger("target-x.progress"), every=0.01)
    assert timers() == before
    idle.stop()
    idle.add(1)  # after stop(): still none
    assert timers() == before
    with logs.Progress(logging.getLogger("target-x.progress"), every=0.01) as busy:
        busy.add(1)
        assert len(timers() - before) == 1
    assert timers() == before  # stop() joined it
