"""`python -m orchestrate.run_job <job>`: one `meltano run <job>` under Dagster Pipes.

Dagster's PipesSubprocessClient starts this. The job's output passes through unchanged (Dagster
keeps it as the step's captured output); what its summary lines say comes back as the asset's
metadata, and when the job fails the run's log gets the summaries and the last error lines.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connector_kit.logs import SUMMARY_COUNTS, parse_summary

from ops.sync import MELTANO, PROJECT_ROOT, meltano_env, own_system_folder

ERROR = re.compile(r"\b\w*(?:Error|Exception)\b|\b(?:error|failed|ERROR|CRITICAL)\b")
ERROR_LINES = 10


@dataclass
class JobOutput:
    """What one `meltano run` printed that matters to the orchestrator."""

    summaries: list[dict[str, Any]] = field(default_factory=list)
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=ERROR_LINES))

    def feed(self, line: str) -> None:
        if (fields := parse_summary(line)) is not None:
            self.summaries.append(fields)
        elif ERROR.search(line):
            self.errors.append(line.strip())

    def metadata(self) -> dict[str, Any]:
        """Asset metadata: totals of the counts (connector_kit.logs.SUMMARY_COUNTS), and every
        summary line as JSON."""
        totals = {
            key: sum(s[key] for s in self.summaries if isinstance(s.get(key), int))
            for key in SUMMARY_COUNTS
            if any(isinstance(s.get(key), int) for s in self.summaries)
        }
        return {**totals, "summaries": {"raw_value": self.summaries, "type": "json"}}

    def summary_lines(self) -> list[str]:
        return [json.dumps(s, separators=(",", ":"), default=str) for s in self.summaries]


def meltano_command(
    job: str, environment: str | None, full_refresh: bool, state_id_suffix: str | None
) -> list[str]:
    return [
        MELTANO,
        *(["--environment", environment] if environment else []),
        "run",
        *(["--full-refresh"] if full_refresh else []),
        *(["--state-id-suffix", state_id_suffix] if state_id_suffix else []),
        job,
    ]


def run(command: list[str]) -> tuple[int, JobOutput]:
    """Run meltano, echo its output to stderr line by line, and read the lines that matter."""
    output = JobOutput()
    with (
        tempfile.TemporaryDirectory(prefix="meltano-run-") as system_folder,
        subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=own_system_folder(meltano_env(), system_folder),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        ) as process,
    ):
        lines: Iterable[str] = process.stdout or ()
        for line in lines:
            sys.stderr.write(line)
            output.feed(line.rstrip("\n"))
    return process.returncode, output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrate.run_job", description=__doc__)
    parser.add_argument("job")
    parser.add_argument("--environment")
    parser.add_argument("--full-refresh", action="store_true")
    parser.add_argument("--state-id-suffix")
    args = parser.parse_args(argv)
    from dagster_pipes import open_dagster_pipes

    command = meltano_command(args.job, args.environment, args.full_refresh, args.state_id_suffix)
    with open_dagster_pipes() as pipes:
        pipes.log.info("meltano " + " ".join(command[1:]))
        code, output = run(command)
        for line in output.summary_lines():
            pipes.log.info(f"summary {line}")
        if code != 0:
            for line in output.errors:
                pipes.log.error(line)
            pipes.log.error(f"job {args.job} failed: meltano exited with {code}")
            return code
        pipes.report_asset_materialization(metadata=output.metadata())
    return 0


if __name__ == "__main__":
    sys.exit(main())
