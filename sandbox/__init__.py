"""Local stand-ins for the outside systems, on loopback: `python -m sandbox up|down|status|seed`."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sandbox import mes, partner_feeds, tracos
from sandbox.glassdome.app import init_db as init_glassdome
from sandbox.offers.products import seed as seed_aggregator
from sandbox.servers import SERVERS, Server
from sandbox.settings import SandboxConfig

__all__ = ["SandboxConfig", "ServerStatus", "down", "seed", "status", "up"]


@dataclass
class ServerStatus:
    name: str
    healthy: bool
    address: str
    pid: int | None


def up(cfg: SandboxConfig, servers: list[Server] | None = None) -> dict[str, float]:
    """Start every server that is not running and seed what is empty; returns seconds per server."""
    cfg.root.mkdir(parents=True, exist_ok=True)
    timings = {}
    for server in servers or SERVERS:
        started = time.perf_counter()
        server.start(cfg)
        if server.name == "postgres":
            seed(cfg)
        timings[server.name] = time.perf_counter() - started
    tracos.seed_mongo(cfg.mongo_uri)
    if cfg.inbound_dir is not None:
        tracos.seed_inbound(cfg.inbound_dir)
    if cfg.outbound_dir is not None:
        cfg.outbound_dir.mkdir(parents=True, exist_ok=True)
    partner_feeds.seed_landing(cfg)
    return timings


def seed(cfg: SandboxConfig, orders: int = 0, materials: int | None = None) -> None:
    """Schema and hand-picked rows (idempotent); `orders` > 0 adds generated production orders."""
    mes.create_schema(cfg.postgres_url("mes"))
    init_glassdome(cfg.postgres_url("glassdome"))
    seed_aggregator(cfg.postgres_url("aggregator"))
    if orders:
        mes.generate(cfg.postgres_url("mes"), orders, materials)


def down(cfg: SandboxConfig) -> None:
    for server in reversed(SERVERS):
        server.stop(cfg)


def status(cfg: SandboxConfig) -> list[ServerStatus]:
    return [ServerStatus(s.name, s.healthy(cfg), s.address(cfg), s.pid(cfg)) for s in SERVERS]
