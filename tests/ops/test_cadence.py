"""`python -m ops.sync --due`: meltano.yml's schedules against each job's last success."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ops import cadence
from sandbox.settings import PROJECT_ROOT

NOW = dt.datetime(2026, 3, 2, 10, 7, tzinfo=dt.UTC)  # a Monday, 10:07 UTC
PLAN = [
    cadence.Schedule("a-hourly", "a", "@hourly", "0 * * * *"),
    cadence.Schedule("b-5min", "b", "*/5 * * * *", "*/5 * * * *"),
    cadence.Schedule("c-offset", "c", "2-59/5 * * * *", "2-59/5 * * * *"),
    cadence.Schedule("d-daily", "d", "@daily", "0 0 * * *"),
    cadence.Schedule("e-once", "e", "@once", None),
    cadence.Schedule("f-manual", "f", "@manual", None),
    cadence.Schedule("g-new", "g", "@hourly", "0 * * * *"),
    cadence.Schedule("a-nightly", "a", "30 2 * * *", "30 2 * * *"),  # a second schedule of a
]


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        # last successes just before the most recent firing of each schedule: all due
        (
            {
                "a": NOW.replace(hour=9, minute=59),
                "b": NOW.replace(minute=4),
                "c": NOW.replace(minute=6, second=59),
                "d": NOW - dt.timedelta(days=1, minutes=1),
                "e": None,
                "f": None,
            },
            ["a", "b", "c", "d", "e", "g"],
        ),
        # each ran at or after its last firing: nothing due but the never-run hourly job
        (
            {
                "a": NOW.replace(minute=0),
                "b": NOW.replace(minute=5),
                "c": NOW.replace(minute=7),
                "d": NOW.replace(hour=0, minute=0),
                "e": NOW - dt.timedelta(days=30),
                "f": NOW - dt.timedelta(days=30),
            },
            ["g"],
        ),
    ],
)
def test_due_jobs(last: dict[str, dt.datetime | None], expected: list[str]) -> None:
    assert cadence.due_jobs(PLAN, last, NOW) == expected


@pytest.fixture
def prod_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """prod wiring with a private meltano system database (the state backend here)."""
    values = {
        "MELTANO_ENVIRONMENT": "prod",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_CLI_DISABLE_VERSION_CHECK": "true",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "PARTNER_FEEDS_DIR": str(tmp_path / "feeds"),
        "PARTNER_FEEDS_ARCHIVE_DIR": str(tmp_path / "archive"),
        "REPORTS_DIR": str(tmp_path / "reports"),
        "DEAD_LETTER_DIR": str(tmp_path / "dead-letter"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CI", raising=False)
    (tmp_path / "feeds").mkdir()
    return {**os.environ}


def sync(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops.sync", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_due_runs_exactly_the_due_jobs(prod_env: dict[str, str]) -> None:
    jobs = {
        s.job: s for s in cadence.schedules(str(Path(sys.executable).parent / "meltano"), prod_env)
    }
    assert {"glassdome", "tracos-inbound", "customers", "partner-feeds"} <= set(jobs)
    now = dt.datetime.now(dt.UTC)
    with cadence.LastSuccess("prod") as last:
        # the others succeed "tomorrow": no schedule of theirs can fire while this test runs
        for job in jobs:
            last.record(job, now + dt.timedelta(days=1), "seeded")
        # an hour and a minute ago: every schedule in meltano.yml has fired since
        last.record("partner-feeds", now - dt.timedelta(hours=1, minutes=1), "seeded")
    assert sync("--due", "--dry-run", env=prod_env).stdout.split() == ["partner-feeds"]

    run = sync("--due", env=prod_env)
    finished = dt.datetime.now(dt.UTC)

    assert run.returncode == 0, run.stderr[-3000:]
    assert "due jobs jobs=partner-feeds " in run.stderr
    assert "job start job=partner-feeds" in run.stderr
    assert run.stderr.count("job start job=") == 1
    # its success is recorded in the state backend, as of the run's start: what the next
    # `--due` reads (when a schedule fires after it: test_due_jobs, with a fixed clock)
    with cadence.LastSuccess("prod") as last:
        started = last.get("partner-feeds")
        others = {job: last.get(job) for job in jobs if job != "partner-feeds"}
    assert started is not None
    assert now <= started <= finished
    assert set(others.values()) == {now + dt.timedelta(days=1)}  # the others untouched
    # and read back by the next `--due`: none of the others; partner-feeds only once the
    # hour after its run's start has come, which the clock decides, not this test
    again = sync("--due", "--dry-run", env=prod_env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert set(again.stdout.split()) <= {"partner-feeds"}


def test_ci_without_durable_state_refuses_to_start(prod_env: dict[str, str]) -> None:
    env = {**prod_env, "CI": "true"}
    del env["MELTANO_DATABASE_URI"]
    refused = sync(env=env)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert "sync refused" in lines[0]
    assert "MELTANO_DATABASE_URI" in lines[0]
    assert "job start" not in refused.stderr
    # the workflow passes `${{ secrets.MELTANO_DATABASE_URI }}`: empty when the secret is missing
    empty = sync(env={**env, "MELTANO_DATABASE_URI": ""})
    assert empty.returncode == 2
    assert len(empty.stderr.strip().splitlines()) == 1, empty.stderr
    assert "MELTANO_DATABASE_URI is empty" in empty.stderr
    # a configured system database (here a private one) is durable enough to start
    allowed = sync(
        "--dry-run", env={**env, "MELTANO_DATABASE_URI": prod_env["MELTANO_DATABASE_URI"]}
    )
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "partner-feeds" in allowed.stdout.split()
