"""The service under a bounded load, side by side with the seed's Flask mock, in one run.

`GET /api/customers?limit=100` from the service (Postgres) and from the customer API stand-in
(the seed's Flask mock, serving the same page from memory), and `GET /products/{id}/offers`
from the service: 50 concurrent keep-alive clients (an async httpx load generator in its own
process, on uvloop), 30 s per target on loopback, in rounds that alternate the targets so a
change in the machine's load hits them alike. The service runs with 1 and with 2 workers. Goal: the service at least the mock's requests/s,
with p99 under 100 ms.

    .venv/bin/python benchmarks/bench_service.py [--seconds 30] [--clients 50] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox.servers import HttpServer, PostgresServer
from sandbox.settings import OFFERS_REFRESH_TOKEN, SandboxConfig, free_port

SERVICE_KEY = "bench-service-key"


async def load(url: str, clients: int, seconds: float) -> dict[str, object]:
    """`clients` tasks, each with its own keep-alive connection, requesting `url` until time's up."""
    import httpx

    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=1)) as http:
            while (started := time.perf_counter()) < deadline:
                response = await http.get(url)
                await response.aread()
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return {"elapsed": time.perf_counter() - began, "errors": errors, "latencies": latencies}


def measure(url: str, clients: int, seconds: float) -> dict[str, object]:
    """The load generator in its own process, so it shares no interpreter with the servers."""
    code = (
        "import json, sys, uvloop; sys.path.insert(0, sys.argv[4]);"
        "from benchmarks.bench_service import load;"
        "print(json.dumps(uvloop.run(load(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))))"
    )
    root = str(Path(__file__).resolve().parent.parent)
    out = subprocess.run(
        [sys.executable, "-c", code, url, str(clients), str(seconds), root],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def summary(runs: list[dict[str, object]]) -> dict[str, float]:
    """Requests/s over all rounds, p50 and p99 over every request of every round."""
    latencies = sorted(x for run in runs for x in run["latencies"])  # type: ignore[attr-defined]
    elapsed = sum(float(run["elapsed"]) for run in runs)  # type: ignore[arg-type]
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
        "errors": sum(int(run["errors"]) for run in runs),  # type: ignore[call-overload]
    }


def service_env(cfg: SandboxConfig, work: Path, workers: int, **extra: str) -> dict[str, str]:
    """The service's environment (also its queue worker's): the sandbox's, the keys, `extra`."""
    return {
        **os.environ,
        **cfg.env,
        **cfg.service_env,
        "SERVICE_API_KEY": SERVICE_KEY,
        "SERVICE_PORT": str(free_port()),
        "SERVICE_WORKERS": str(workers),
        "DLT_DATA_DIR": str(work / "dlt"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
        **extra,
    }


def start_service(
    cfg: SandboxConfig, work: Path, workers: int, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    env = env or service_env(cfg, work, workers)
    work.mkdir(parents=True, exist_ok=True)
    log = (work / "service.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "service"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{env['SERVICE_PORT']}"
    for _ in range(600):
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError((work / "service.log").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30, help="per target, over all rounds")
    parser.add_argument("--rounds", type=int, default=3, help="targets alternate round by round")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--workers", default="1,2", help="service worker processes: one service each (1,2)"
    )
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]

    work = Path(tempfile.mkdtemp(prefix="bench-service-"))
    cfg = SandboxConfig.ephemeral(work)
    servers = [
        PostgresServer(),
        HttpServer("customers", "sandbox.customers.app", "/api/health"),
        HttpServer("offers", "sandbox.offers.app", "/health"),
    ]
    services: list[subprocess.Popen[bytes]] = []
    try:
        for server in servers:
            server.start(cfg)
        urls = {}
        for workers in worker_counts:
            process, urls[workers] = start_service(cfg, work / f"w{workers}", workers)
            services.append(process)
        url = urls[worker_counts[0]]
        key = {"X-API-Key": SERVICE_KEY}
        requests.post(url + "/api/ingest", headers=key, timeout=120).raise_for_status()
        product = requests.post(
            url + "/products", json={"name": "Bench kettle"}, headers=key, timeout=60
        ).json()
        env = {
            **os.environ,
            **cfg.env,
            "AGGREGATOR_DATABASE_URL": cfg.postgres_url("aggregator"),
            "OFFERS_REFRESH_TOKEN": OFFERS_REFRESH_TOKEN,
            "DLT_DATA_DIR": str(work / f"w{worker_counts[0]}" / "dlt"),  # the service's token
        }
        subprocess.run([sys.executable, "-m", "pipelines.offers"], env=env, check=True)
        offers_path = f"/products/{product['id']}/offers"
        offers = requests.get(url + offers_path, timeout=10).json()
        page = "/api/customers?page=1&limit=100"
        mock_page = requests.get(cfg.http_url("customers") + page, timeout=10).json()
        assert requests.get(url + page, timeout=10).json() == mock_page, "not the same page"

        targets = {
            "mock (Flask, memory)      GET /api/customers?limit=100": cfg.http_url("customers")
            + page
        }
        for workers, service_url in urls.items():
            targets[f"service, {workers} worker(s)    GET /api/customers?limit=100"] = (
                service_url + page
            )
        for workers, service_url in urls.items():
            targets[f"service, {workers} worker(s)    GET /products/{{id}}/offers"] = (
                service_url + offers_path
            )
        print(
            f"{args.clients} clients, {args.seconds:g} s per target in {args.rounds} alternating "
            f"rounds; {mock_page['total']} customers, a page of {len(mock_page['data'])}, "
            f"{len(offers)} offers; load average before {os.getloadavg()[0]:.1f}"
        )
        runs: dict[str, list[dict[str, object]]] = {name: [] for name in targets}
        for _ in range(args.rounds):
            for name, target in targets.items():
                runs[name].append(measure(target, args.clients, args.seconds / args.rounds))
        print(f"{'endpoint':62} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        results = {name: summary(rs) for name, rs in runs.items()}
        for name, r in results.items():
            print(
                f"{name:62} {r['rps']:8.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['errors']:7.0f}"
            )
        mock = next(iter(results.values()))
        for name, r in list(results.items())[1 : 1 + len(urls)]:
            print(
                f"{name.split('  ')[0]}: {r['rps'] / mock['rps']:.2f}x the mock's requests/s "
                f"(goal >= 1.0), p99 {r['p99_ms']:.0f} ms (goal < 100)"
            )
        print(f"load average after {os.getloadavg()[0]:.1f} (2 cores, shared)")
    finally:
        for process in services:
            process.terminate()
            process.wait(timeout=30)
        for server in reversed(servers):
            server.stop(cfg)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
