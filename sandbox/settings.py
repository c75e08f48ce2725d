"""Where the sandbox lives and which loopback ports it uses (each overridable by env var)."""

from __future__ import annotations

import os
import random
import socket
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"

# name -> (env var, default port)
DEFAULT_PORTS: dict[str, tuple[str, int]] = {
    "postgres": ("SANDBOX_PG_PORT", 5433),
    "mongo": ("SANDBOX_MONGO_PORT", 27017),
    "glassdome": ("GLASSDOME_PORT", 8000),
    "customers": ("CUSTOMERS_API_PORT", 5000),
    "offers": ("OFFERS_PORT", 8001),
    "service": ("SERVICE_PORT", 8080),
}

GLASSDOME_API_KEYS = {"pat_cp1_xoxo": "company_1", "pat_cp2_xoxo": "company_2"}
GLASSDOME_API_KEY = "pat_cp1_xoxo"  # the sandbox credentials, as pinned in meltano.yml dev
OFFERS_REFRESH_TOKEN = "sandbox-refresh-token"  # noqa: S105
SERVICE_API_KEY = "sandbox-service-key"  # the service's X-API-Key under `make serve`
SERVICE_ADMIN_KEY = "sandbox-admin-key"  # its X-Admin-Key (partner admin endpoints)
SERVICE_SECRET_KEY = "sandbox-app-secret"  # noqa: S105  (partner keys are hashed with it)
DATABASES = ("mes", "glassdome", "warehouse", "aggregator")


@dataclass(frozen=True)
class SandboxConfig:
    """A sandbox instance: a state folder and its ports. Tests make one with free ports."""

    root: Path
    ports: dict[str, int] = field(default_factory=dict)
    inbound_dir: Path | None = None
    outbound_dir: Path | None = None

    @classmethod
    def from_env(cls) -> SandboxConfig:
        root = Path(os.environ.get("SANDBOX_DIR", PROJECT_ROOT / ".sandbox")).resolve()
        ports = {name: configured_port(name) for name in DEFAULT_PORTS}
        # The sandbox's own ERP folders: DATA_INBOUND_DIR / DATA_OUTBOUND_DIR are the user's
        # (they win over these in every flow), never seeded by the sandbox.
        data = PROJECT_ROOT / "data"
        return cls(
            root=root, ports=ports, inbound_dir=data / "inbound", outbound_dir=data / "outbound"
        )

    @classmethod
    def ephemeral(cls, root: Path) -> SandboxConfig:
        """Free ports and folders under `root`: for test sessions and benchmarks."""
        return cls(
            root=root,
            ports={name: free_port() for name in DEFAULT_PORTS},
            inbound_dir=root / "data" / "inbound",
            outbound_dir=root / "data" / "outbound",
        )

    @property
    def default_ports(self) -> bool:
        """Whether this sandbox listens where meltano.yml's dev defaults point."""
        return all(self.ports.get(name) == port for name, (_, port) in DEFAULT_PORTS.items())

    def with_ports(self, **ports: int) -> SandboxConfig:
        return replace(self, ports={**self.ports, **ports})

    def port(self, name: str) -> int:
        return self.ports[name]

    def postgres_url(self, database: str = "postgres", driver: str = "postgresql") -> str:
        return f"{driver}://postgres@{HOST}:{self.port('postgres')}/{database}"

    @property
    def mongo_uri(self) -> str:
        return f"mongodb://{HOST}:{self.port('mongo')}/tractian"

    def http_url(self, name: str) -> str:
        return f"http://{HOST}:{self.port(name)}"

    @property
    def env(self) -> dict[str, str]:
        """Environment a job needs to reach this sandbox (the dev environment's inputs)."""
        return {
            "SANDBOX_DIR": str(self.root),
            **{var: str(self.port(name)) for name, (var, _) in DEFAULT_PORTS.items()},
            "MES_DATABASE_URL": self.postgres_url("mes"),
            "GLASSDOME_DATABASE_URL": self.postgres_url("glassdome"),
            "WAREHOUSE_DATABASE_URL": self.postgres_url("warehouse"),
            "AGGREGATOR_DATABASE_URL": self.postgres_url("aggregator"),
            "GLASSDOME_API_URL": self.http_url("glassdome"),
            "GLASSDOME_API_KEY": GLASSDOME_API_KEY,
            "OFFERS_REFRESH_TOKEN": OFFERS_REFRESH_TOKEN,
            "CUSTOMERS_API_URL": self.http_url("customers"),
            "OFFERS_SERVICE_URL": self.http_url("offers"),
            "MONGO_URI": self.mongo_uri,
            "DATA_INBOUND_DIR": str(self.inbound_dir),
            "DATA_OUTBOUND_DIR": str(self.outbound_dir),
        }

    @property
    def service_env(self) -> dict[str, str]:
        """What the service (`make serve`) needs beyond `env`: its database and key.

        The aggregator database, so the offers pipeline (AGGREGATOR_DATABASE_URL) and the
        service share products and offers.
        """
        return {
            "DATABASE_URL": self.postgres_url("aggregator"),
            "SERVICE_API_KEY": SERVICE_API_KEY,
            "ADMIN_API_KEY": SERVICE_ADMIN_KEY,
            "APP_SECRET_KEY": SERVICE_SECRET_KEY,
        }


def configured_port(name: str) -> int:
    """The port of one sandbox server: its environment variable, else the default."""
    var, default = DEFAULT_PORTS[name]
    return int(os.environ.get(var) or default)


PORT_RANGE_ENV = "SANDBOX_PORT_RANGE"  # `low-high`: free ports only from there
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on: the kernel's pick, or with SANDBOX_PORT_RANGE one of
    that range this process has not handed out yet (parallel test workers get disjoint ranges,
    so one never picks a port another is about to listen on)."""
    if span := os.environ.get(PORT_RANGE_ENV):
        low, high = (int(end) for end in span.split("-"))
        start = random.randrange(low, high + 1)  # subprocesses inheriting the range differ
        for port in (*range(start, high + 1), *range(low, start)):
            if port in _handed_out:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind((HOST, port))
                except OSError:
                    continue
            _handed_out.add(port)
            return port
        raise RuntimeError(f"no free port left in {PORT_RANGE_ENV}={span}")
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])
