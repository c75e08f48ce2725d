"""Prometheus metrics (/metrics, behind the admin key), right with any number of processes.

What the queue, the uploads and the pipeline runs did is read from Postgres at scrape time, so
every web and worker process is counted once. HTTP latency per route is a prometheus-client
metric of each web process; with more than one web worker, set PROMETHEUS_MULTIPROC_DIR (an
empty folder) and it is summed across the processes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

from service.core.db import Connection

HTTP_LATENCY = Histogram(
    "service_http_request_duration_seconds",
    "HTTP request latency per route",
    ["method", "route", "status"],
)


async def record_run(conn: Connection, pipeline: str, records: int) -> None:
    """A pipeline run the service started (in a request or a job), for /metrics."""
    await conn.execute(
        "INSERT INTO pipeline_runs (pipeline, records) VALUES (%s, %s)", (pipeline, records)
    )


async def database_metrics(conn: Connection) -> list[Metric]:
    jobs = GaugeMetricFamily(
        "service_jobs", "Queue jobs by task and state", labels=["task", "state"]
    )
    cursor = await conn.execute(
        "SELECT task_name, status::text AS state, count(*) AS n FROM procrastinate_jobs"
        " GROUP BY 1, 2 ORDER BY 1, 2"
    )
    for row in await cursor.fetchall():
        jobs.add_metric([row["task_name"], row["state"]], row["n"])

    duration = SummaryMetricFamily(
        "service_job_duration_seconds", "Time from start to end of finished jobs", labels=["task"]
    )
    cursor = await conn.execute(
        "SELECT j.task_name, count(*) AS n, coalesce(sum(extract(epoch FROM e.ended - e.started)), 0) AS s"
        " FROM procrastinate_jobs j JOIN ("
        "   SELECT job_id, max(at) FILTER (WHERE type = 'started') AS started,"
        "          max(at) FILTER (WHERE type IN ('succeeded', 'failed')) AS ended"
        "   FROM procrastinate_events GROUP BY job_id) e ON e.job_id = j.id"
        " WHERE e.ended IS NOT NULL AND e.started IS NOT NULL GROUP BY 1 ORDER BY 1"
    )
    for row in await cursor.fetchall():
        duration.add_metric([row["task_name"]], row["n"], float(row["s"]))

    feeds = CounterMetricFamily(
        "service_partner_feeds",
        "Uploaded feeds by partner and status",
        labels=["partner", "status"],
    )
    rows = CounterMetricFamily(
        "service_partner_rows",
        "Feed rows loaded or rejected, by partner",
        labels=["partner", "outcome"],
    )
    cursor = await conn.execute(
        "SELECT partner_id, status, count(*) AS n, coalesce(sum(rows_loaded), 0) AS loaded,"
        " coalesce(sum(rows_rejected), 0) AS rejected FROM partner_uploads GROUP BY 1, 2 ORDER BY 1, 2"
    )
    totals: dict[tuple[str, str], int] = {}
    for row in await cursor.fetchall():
        feeds.add_metric([row["partner_id"], row["status"]], row["n"])
        for outcome in ("loaded", "rejected"):
            key = (row["partner_id"], outcome)
            totals[key] = totals.get(key, 0) + int(row[outcome])
    for (partner, outcome), value in sorted(totals.items()):
        rows.add_metric([partner, outcome], value)
    records = CounterMetricFamily(
        "service_pipeline_records",
        "Records each pipeline run started by the service loaded",
        labels=["pipeline"],
    )
    runs = CounterMetricFamily(
        "service_pipeline_runs", "Pipeline runs started by the service", labels=["pipeline"]
    )
    cursor = await conn.execute(
        "SELECT pipeline, count(*) AS n, sum(records) AS records FROM pipeline_runs"
        " GROUP BY 1 ORDER BY 1"
    )
    for row in await cursor.fetchall():
        records.add_metric([row["pipeline"]], int(row["records"]))
        runs.add_metric([row["pipeline"]], row["n"])
    return [jobs, duration, feeds, rows, records, runs]


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self.families = list(families)

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def exposition(families: list[Metric]) -> bytes:
    """The text format: the database's families plus this process's (or all processes')."""
    registry = CollectorRegistry()
    registry.register(_Families(families))
    text = generate_latest(registry)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)
        return text + generate_latest(processes)
    return text + generate_latest(REGISTRY)
