"""Run reports: what each job of a sync moved, from the plugins' `summary` lines.

Every plugin and pipeline ends with one machine-readable summary line
(connector_kit.logs.summary); a job's figures are the sums over its stages. `make sync`
prints the table and saves the same figures as JSON under `reports/`; `make report`
(`python -m ops.report`) renders the history of those files as one HTML page with a
throughput-over-time chart per job.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import html
import io
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from connector_kit.logs import SUMMARY_COUNTS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def reports_dir() -> Path:
    return Path(os.environ.get("REPORTS_DIR") or PROJECT_ROOT / "reports")


@dataclass
class JobReport:
    job: str
    exit_code: int
    seconds: float
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    rejected: int = 0
    quarantined: int = 0
    stages: list[dict[str, Any]] = field(default_factory=list)  # the summary lines, as logged

    @classmethod
    def from_summaries(
        cls, job: str, exit_code: int, seconds: float, summaries: list[dict[str, Any]]
    ) -> JobReport:
        counts = {name: sum(int(s.get(name) or 0) for s in summaries) for name in SUMMARY_COUNTS}
        return cls(job, exit_code, round(seconds, 3), **counts, stages=list(summaries))

    @property
    def status(self) -> str:
        return "ok" if self.exit_code == 0 else "failed"

    @property
    def written(self) -> int:
        return self.inserted + self.updated + self.deleted

    @property
    def records_per_s(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "status": self.status,
            "written": self.written,
            "records_per_s": round(self.records_per_s, 1),
        }


@dataclass
class RunReport:
    run_id: str
    environment: str
    started_at: str  # ISO 8601, UTC
    jobs: list[JobReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(j.exit_code == 0 for j in self.jobs)

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "environment": self.environment,
            "started_at": self.started_at,
            "jobs": [j.as_dict() for j in self.jobs],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        names = set(JobReport.__dataclass_fields__)
        jobs = [JobReport(**{k: v for k, v in j.items() if k in names}) for j in data["jobs"]]
        return cls(data["run_id"], data["environment"], data["started_at"], jobs)

    def save(self, folder: Path | None = None) -> Path:
        """Write the report as `<started_at>-<run_id>.json` (the file names sort by time)."""
        folder = folder or reports_dir()
        folder.mkdir(parents=True, exist_ok=True)
        stamp = self.started_at.replace(":", "").replace("-", "")[:15]
        path = folder / f"{stamp}Z-{self.run_id}.json"
        path.write_text(json.dumps(self.as_dict(), indent=2, default=str) + "\n")
        return path

    def table(self) -> str:
        """The run as a plain-text table, one row per job."""
        header = (
            "job",
            "read",
            "written (ins/upd)",
            "unchanged",
            "rejected",
            "quarantined",
            "duration",
            "records/s",
            "status",
        )
        rows = [header]
        for j in self.jobs:
            written = f"{j.written} ({j.inserted}/{j.updated})"
            if j.deleted:
                written += f" +{j.deleted} del"
            rows.append(
                (
                    j.job,
                    str(j.read),
                    written,
                    str(j.unchanged),
                    str(j.rejected),
                    str(j.quarantined),
                    f"{j.seconds:.1f}s",
                    f"{j.records_per_s:.0f}",
                    j.status if j.exit_code == 0 else f"FAILED ({j.exit_code})",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [
            "  ".join(
                cell.ljust(w) if i in {0, 8} else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
            for row in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths))
        ok = sum(1 for j in self.jobs if j.exit_code == 0)
        lines.append(f"{ok}/{len(self.jobs)} jobs ok  run_id={self.run_id}")
        return "\n".join(lines)


def history(folder: Path | None = None) -> list[RunReport]:
    """Every saved run report, oldest first (a file that is not a report is skipped)."""
    runs = []
    for path in sorted((folder or reports_dir()).glob("*.json")):
        try:
            runs.append(RunReport.from_dict(json.loads(path.read_text())))
        except (ValueError, KeyError, TypeError):
            continue
    return sorted(runs, key=lambda r: r.started_at)


def throughput_chart(job: str, points: list[tuple[dt.datetime, JobReport]]) -> str:
    """A PNG (base64) of one job's records/s per run; failed runs in red."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 2.4), dpi=100)
    try:
        times = dates.date2num([t for t, _ in points])
        ax.plot(times, [r.records_per_s for _, r in points], color="#4a7bb7", linewidth=1)
        for status, color in (("ok", "#4a7bb7"), ("failed", "#c0392b")):
            chosen = [(x, r) for x, (_, r) in zip(times, points, strict=True) if r.status == status]
            ax.scatter(
                [x for x, _ in chosen],
                [r.records_per_s for _, r in chosen],
                color=color,
                s=14,
                zorder=3,
                label=status,
            )
        ax.set_title(job, fontsize=10, loc="left")
        ax.set_ylabel("records/s", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        ax.xaxis_date()
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
    finally:
        plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode()


def render_html(runs: list[RunReport]) -> str:
    """One page: the latest run's table, a throughput chart per job, and every run's status."""
    by_job: dict[str, list[tuple[dt.datetime, JobReport]]] = {}
    for run in runs:
        when = dt.datetime.fromisoformat(run.started_at)
        for figures in run.jobs:
            by_job.setdefault(figures.job, []).append((when, figures))
    latest = runs[-1] if runs else None
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Sync runs</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
        "td:first-child,th:first-child{text-align:left}.failed{color:#c0392b;font-weight:bold}"
        "</style></head><body>",
        f"<h1>Sync runs</h1><p>{len(runs)} runs</p>",
    ]
    if latest is not None:
        parts.append(
            f"<h2>Latest run {esc(latest.run_id)} ({esc(latest.environment)},"
            f" {esc(latest.started_at)})</h2><table><tr>"
            + "".join(
                f"<th>{h}</th>"
                for h in (
                    "job",
                    "read",
                    "written",
                    "inserted",
                    "updated",
                    "unchanged",
                    "rejected",
                    "quarantined",
                    "duration (s)",
                    "records/s",
                    "status",
                )
            )
            + "</tr>"
        )
        for j in latest.jobs:
            cells = (
                j.read,
                j.written,
                j.inserted,
                j.updated,
                j.unchanged,
                j.rejected,
                j.quarantined,
                f"{j.seconds:.1f}",
                f"{j.records_per_s:.0f}",
            )
            parts.append(
                f"<tr><td>{esc(j.job)}</td>"
                + "".join(f"<td>{c}</td>" for c in cells)
                + f"<td class='{j.status}'>{j.status}</td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Throughput per job</h2>")
    for job, points in sorted(by_job.items()):
        failed = sum(1 for _, r in points if r.status == "failed")
        parts.append(
            f"<h3>{esc(job)}</h3><p>{len(points)} runs, {failed} failed</p>"
            f"<img alt='records/s of {esc(job)} per run'"
            f" src='data:image/png;base64,{throughput_chart(job, points)}'>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.report", description=__doc__)
    parser.add_argument("--reports-dir", type=Path, default=None, help="default: reports/")
    parser.add_argument("--output", type=Path, default=None, help="default: <reports>/index.html")
    args = parser.parse_args(argv)
    folder = args.reports_dir or reports_dir()
    runs = history(folder)
    output = args.output or folder / "index.html"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_html(runs))
    print(f"{output} ({len(runs)} runs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
