"""The service under a bounded load, side by side with the seed's Flask mock, in one run.

`GET /api/customers?limit=100` from the service (Postgres) and from the customer API stand-in
(the seed's Flask mock, serving the same page from memory), and `GET /products/{id}/offers`
from the service: 50 concurrent keep-alive clients (an async httpx load generator in its own
process, on uvloop), 30 s each, on loopback. Goal: the service at least the mock's requests/s,
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


async def load(url: str, clients: int, seconds: float) -> dict[str, float]:
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
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def measure(url: str, clients: int, seconds: float) -> dict[str, float]:
    """The load generator in its own process, so it shares no interpreter with anything else."""
    code = (
        "import asyncio, json, sys, uvloop; sys.path.insert(0, sys.argv[4]);"
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


def start_service(cfg: SandboxConfig, work: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        **cfg.env,
        "DATABASE_URL": cfg.postgres_url("aggregator"),
        "SERVICE_API_KEY": SERVICE_KEY,
        "SERVICE_PORT": str(port),
        "SERVICE_WORKERS": str(workers),
        "DLT_DATA_DIR": str(work / "dlt"),
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
    }
    log = (work / "service.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "service"], env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError((work / "service.log").read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="service worker processes")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-service-"))
    cfg = SandboxConfig.ephemeral(work)
    servers = [
        PostgresServer(),
        HttpServer("customers", "sandbox.customers.app", "/api/health"),
        HttpServer("offers", "sandbox.offers.app", "/health"),
    ]
    service = None
    try:
        for server in servers:
            server.start(cfg)
        service, url = start_service(cfg, work, args.workers)
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
            "DLT_DATA_DIR": str(work / "dlt"),  # the service's token cache
        }
        subprocess.run([sys.executable, "-m", "pipelines.offers"], env=env, check=True)
        offers_path = f"/products/{product['id']}/offers"
        offers = requests.get(url + offers_path, timeout=10).json()
        page = "/api/customers?page=1&limit=100"
        assert requests.get(url + page, timeout=10).json() == requests.get(
            cfg.http_url("customers") + page, timeout=10
        ).json(), "the service and the mock must serve the same page"

        print(
            f"{args.clients} clients, {args.seconds:g} s each, service workers={args.workers}, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(f"{'endpoint':58} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        results = {}
        for name, target in [
            ("mock (Flask, memory)   GET /api/customers?limit=100", cfg.http_url("customers") + page),
            ("service (Postgres)     GET /api/customers?limit=100", url + page),
            (f"service (Postgres)     GET /products/{{id}}/offers ({len(offers)})", url + offers_path),
        ]:
            results[name] = r = measure(target, args.clients, args.seconds)
            print(f"{name:58} {r['rps']:8.0f} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} {r['errors']:7d}")
        mock, ours = list(results.values())[:2]
        print(
            f"customers page: service/mock requests/s = {ours['rps'] / mock['rps']:.2f}x "
            f"(goal >= 1.0), service p99 {ours['p99_ms']:.1f} ms (goal < 100)"
        )
    finally:
        if service is not None:
            service.terminate()
            service.wait(timeout=30)
        for server in reversed(servers):
            server.stop(cfg)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
